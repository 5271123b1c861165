// Thread count for the OpenMP kernels. OpenMP keeps the count per OS thread, so the
// process-wide value lives here and each thread adopts it on its next op.
#pragma once

namespace fastgrad {

void set_num_threads(int n);  // every thread, from its next op on
int get_num_threads();
// Applies the process-wide count to the calling thread if it changed (cheap; called by
// apply() and by kernel entry points that bypass it).
void sync_num_threads();

}  // namespace fastgrad
