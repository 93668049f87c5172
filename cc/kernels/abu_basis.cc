// The ABU basis attribute: names -> Basis. Its own translation unit (no TensorFlow
// header, no kernel code) because both op libraries, CPU and GPU, parse the attribute.
#include <algorithm>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "cc/kernels/abu_kernels.h"

namespace tf_learnact {

std::string ParseBasisList(const std::vector<std::string>& names, std::vector<Basis>* basis) {
  static const std::pair<const char*, Basis> kNames[] = {
      {"tanh", Basis::kTanh},         {"elu", Basis::kElu},
      {"relu", Basis::kRelu},         {"identity", Basis::kIdentity},
      {"swish", Basis::kSwish},       {"sigmoid", Basis::kSigmoid},
      {"selu", Basis::kSelu},         {"leaky_relu", Basis::kLeakyRelu},
      {"softplus", Basis::kSoftplus}, {"gelu", Basis::kGelu}};
  static_assert(std::size(kNames) == kNumBasisFunctions,
                "the evaluator holds every function at most once");
  if (names.empty()) return "basis must name at least one function";
  basis->clear();
  for (const auto& name : names) {
    const auto* found = std::find_if(std::begin(kNames), std::end(kNames),
                                     [&](const auto& entry) { return name == entry.first; });
    if (found == std::end(kNames)) return "basis: unknown function '" + name + "'";
    if (std::find(basis->begin(), basis->end(), found->second) != basis->end())
      return "basis: '" + name + "' appears twice";
    basis->push_back(found->second);
  }
  return "";
}

}  // namespace tf_learnact
