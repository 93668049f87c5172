// PAU CPU kernels instantiated for Half16.
#include "cc/kernels/pau_kernels_impl.h"

namespace tf_learnact {
TLA_INSTANTIATE_PAU(Half16)
}  // namespace tf_learnact
