// Runtime choice of the SIMD instruction set used by the kernels.
// The choice is made once, at first use, from cpuid + the OS-enabled register state
// (XCR0); FASTGRAD_ISA=scalar|avx2|avx512 forces one (an unsupported request falls
// back to the best supported ISA with a one-time warning on stderr).
#pragma once

namespace fastgrad::kernels {

enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// Whether this CPU + OS can run the given ISA path (Avx2 means AVX2 + FMA; Avx512
// means AVX-512 F + BW + DQ + VL). Scalar is always supported.
bool isa_supported(Isa isa);

// The best ISA this machine supports, ignoring FASTGRAD_ISA and set_isa.
Isa best_isa();

// The ISA the kernels currently use. Thread-safe; cheap (one atomic load after the
// first call).
Isa active_isa();

// "scalar", "avx2" or "avx512".
const char* isa_name(Isa isa);

// Force an ISA (meant for tests and benchmarks). Throws std::invalid_argument if the
// machine does not support it. Not meant to be called while kernels run on other
// threads (a running kernel keeps the path it started with).
void set_isa(Isa isa);

}  // namespace fastgrad::kernels
