// Forward-mode tangent bookkeeping (cheat sheet §3 pushforward): the per-tensor tangent
// slots behind Tensor::tangent/set_tangent and the per-thread owner registry that
// pop_jvp_level clears.
#include "forward.h"

#include <memory>
#include <utility>
#include <vector>

namespace fastgrad {

namespace {
thread_local std::vector<std::pair<int64_t, std::weak_ptr<TensorImpl>>> tl_tangent_owners;
}  // namespace

void register_tangent_owner(int64_t level, const TensorPtr& p) { tl_tangent_owners.emplace_back(level, p); }

void clear_level_tangents(int64_t level) {
  std::vector<TensorPtr> drop;  // released only after the registry is consistent
  size_t k = 0;
  for (size_t i = 0; i < tl_tangent_owners.size(); ++i) {
    auto& e = tl_tangent_owners[i];
    if (e.first != level) {
      if (k != i) tl_tangent_owners[k] = std::move(e);
      ++k;
      continue;
    }
    if (auto sp = e.second.lock()) {
      auto& v = sp->tangents;
      for (auto it = v.begin(); it != v.end();)
        if (it->first == level) {
          drop.push_back(std::move(it->second));
          it = v.erase(it);
        } else {
          ++it;
        }
    }
  }
  tl_tangent_owners.resize(k);
}

Tensor Tensor::tangent(int64_t level) const {
  for (auto& kv : p_->tangents)
    if (kv.first == level) return Tensor(kv.second);
  return Tensor();
}

void Tensor::set_tangent(int64_t level, const Tensor& t) const {
  for (auto& kv : p_->tangents)
    if (kv.first == level) {
      kv.second = t.impl();
      return;
    }
  p_->tangents.emplace_back(level, t.impl());
  register_tangent_owner(level, p_);
}

}  // namespace fastgrad
