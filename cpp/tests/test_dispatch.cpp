// ISA selection API.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "fastgrad/kernels/dispatch.h"

namespace fk = fastgrad::kernels;

TEST(Dispatch, NamesAndScalarAlwaysSupported) {
  EXPECT_STREQ(fk::isa_name(fk::Isa::Scalar), "scalar");
  EXPECT_STREQ(fk::isa_name(fk::Isa::Avx2), "avx2");
  EXPECT_STREQ(fk::isa_name(fk::Isa::Avx512), "avx512");
  EXPECT_TRUE(fk::isa_supported(fk::Isa::Scalar));
  // AVX-512 (F/BW/DQ/VL) implies AVX2 + FMA on every CPU that has it.
  if (fk::isa_supported(fk::Isa::Avx512)) {
    EXPECT_TRUE(fk::isa_supported(fk::Isa::Avx2));
  }
}

TEST(Dispatch, BestIsSupportedAndMaximal) {
  const fk::Isa best = fk::best_isa();
  EXPECT_TRUE(fk::isa_supported(best));
  for (fk::Isa i : {fk::Isa::Scalar, fk::Isa::Avx2, fk::Isa::Avx512})
    if (fk::isa_supported(i)) {
      EXPECT_GE(static_cast<int>(best), static_cast<int>(i));
    }
}

TEST(Dispatch, ActiveIsSupportedAndHonoursEnv) {
  const fk::Isa a = fk::active_isa();
  EXPECT_TRUE(fk::isa_supported(a));
  const char* env = std::getenv("FASTGRAD_ISA");
  if (!env || !*env) {
    EXPECT_EQ(a, fk::best_isa());
  } else if (std::strcmp(env, "scalar") == 0) {
    EXPECT_EQ(a, fk::Isa::Scalar);
  }
}

TEST(Dispatch, SetIsaSwitchesAndRefusesUnsupported) {
  const fk::Isa saved = fk::active_isa();
  for (fk::Isa i : {fk::Isa::Scalar, fk::Isa::Avx2, fk::Isa::Avx512}) {
    if (fk::isa_supported(i)) {
      fk::set_isa(i);
      EXPECT_EQ(fk::active_isa(), i);
    } else {
      EXPECT_THROW(fk::set_isa(i), std::invalid_argument);
      EXPECT_NE(fk::active_isa(), i);
    }
  }
  EXPECT_THROW(fk::set_isa(static_cast<fk::Isa>(7)), std::invalid_argument);
  fk::set_isa(saved);
  EXPECT_EQ(fk::active_isa(), saved);
}

TEST(Dispatch, ConcurrentReadersAgree) {
  std::vector<std::thread> ts;
  std::vector<int> seen(8, -1);
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&seen, t] { seen[size_t(t)] = static_cast<int>(fk::active_isa()); });
  for (auto& t : ts) t.join();
  for (int v : seen) EXPECT_EQ(v, static_cast<int>(fk::active_isa()));
}
