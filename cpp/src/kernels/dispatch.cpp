// ISA detection. Compiled with baseline flags: only cpuid and xgetbv are executed here.
#include "fastgrad/kernels/dispatch.h"

#include <cpuid.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

namespace fastgrad::kernels {
namespace {

// xgetbv via inline asm: the _xgetbv intrinsic would need -mxsave on this file.
uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

struct CpuFeatures {
  bool avx2 = false;
  bool avx512 = false;
};

// cpuid says what the core implements; XCR0 says whether the OS saves the wider
// registers across context switches. Both are needed before executing AVX/AVX-512.
CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  const bool avx = c & (1u << 28);
  const bool fma = c & (1u << 12);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
  const bool zmm_os = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17);
  const bool avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  f.avx2 = ymm_os && avx2 && fma;
  f.avx512 = f.avx2 && zmm_os && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}

const CpuFeatures& features() {
  static const CpuFeatures f = detect();
  return f;
}

std::atomic<int> g_active{-1};
std::once_flag g_once;

void init_active() {
  Isa isa = best_isa();
  if (const char* env = std::getenv("FASTGRAD_ISA"); env && *env) {
    std::string s(env);
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    Isa want = isa;
    bool known = true;
    if (s == "scalar")
      want = Isa::Scalar;
    else if (s == "avx2")
      want = Isa::Avx2;
    else if (s == "avx512")
      want = Isa::Avx512;
    else
      known = false;
    if (!known) {
      std::fprintf(stderr, "fastgrad: unknown FASTGRAD_ISA='%s' (expected scalar|avx2|avx512); using %s\n",
                   env, isa_name(isa));
    } else if (!isa_supported(want)) {
      std::fprintf(stderr, "fastgrad: FASTGRAD_ISA=%s is not supported on this CPU; using %s\n", env,
                   isa_name(isa));
    } else {
      isa = want;
    }
  }
  g_active.store(static_cast<int>(isa), std::memory_order_release);
}

}  // namespace

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return features().avx2;
    case Isa::Avx512:
      return features().avx512;
  }
  return false;
}

Isa best_isa() {
  if (features().avx512) return Isa::Avx512;
  if (features().avx2) return Isa::Avx2;
  return Isa::Scalar;
}

Isa active_isa() {
  int v = g_active.load(std::memory_order_acquire);
  if (v < 0) {
    std::call_once(g_once, init_active);
    v = g_active.load(std::memory_order_acquire);
  }
  return static_cast<Isa>(v);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "unknown";
}

void set_isa(Isa isa) {
  const int v = static_cast<int>(isa);
  if (v < 0 || v > 2) throw std::invalid_argument("fastgrad: invalid Isa value");
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("fastgrad: ISA ") + isa_name(isa) +
                                " is not supported on this CPU");
  std::call_once(g_once, init_active);  // so a later first use cannot overwrite the choice
  g_active.store(v, std::memory_order_release);
}

}  // namespace fastgrad::kernels
