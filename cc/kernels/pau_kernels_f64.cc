// PAU CPU kernels instantiated for double.
#include "cc/kernels/pau_kernels_impl.h"

namespace tf_learnact {
TLA_INSTANTIATE_PAU(double)
}  // namespace tf_learnact
