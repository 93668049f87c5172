// PAU CPU kernels instantiated for BFloat16.
#include "cc/kernels/pau_kernels_impl.h"

namespace tf_learnact {
TLA_INSTANTIATE_PAU(BFloat16)
}  // namespace tf_learnact
