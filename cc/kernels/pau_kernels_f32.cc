// PAU CPU kernels instantiated for float.
#include "cc/kernels/pau_kernels_impl.h"

namespace tf_learnact {
TLA_INSTANTIATE_PAU(float)
}  // namespace tf_learnact
