// ABU CPU kernels instantiated for double.
#include "cc/kernels/abu_kernels_impl.h"

namespace tf_learnact {
TLA_INSTANTIATE_ABU(double)
}  // namespace tf_learnact
