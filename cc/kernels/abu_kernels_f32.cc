// ABU CPU kernels instantiated for float.
#include "cc/kernels/abu_kernels_impl.h"

namespace tf_learnact {
TLA_INSTANTIATE_ABU(float)
}  // namespace tf_learnact
