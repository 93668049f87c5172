// ABU CPU kernels instantiated for BFloat16.
#include "cc/kernels/abu_kernels_impl.h"

namespace tf_learnact {
TLA_INSTANTIATE_ABU(BFloat16)
}  // namespace tf_learnact
