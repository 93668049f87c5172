// ABU CPU kernels instantiated for Half16.
#include "cc/kernels/abu_kernels_impl.h"

namespace tf_learnact {
TLA_INSTANTIATE_ABU(Half16)
}  // namespace tf_learnact
