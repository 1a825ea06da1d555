#include "storage/store.h"

namespace kubepp::storage {

Status ValidateWrite(std::string_view key, std::string_view value) {
  if (key.empty()) return Status::BadRequest("storage: key is empty");
  if (key.size() > kMaxKeyBytes) {
    return Status::TooLarge("storage: key of " + std::to_string(key.size()) +
                            " bytes exceeds the limit of " + std::to_string(kMaxKeyBytes));
  }
  if (value.size() > kMaxValueBytes) {
    return Status::TooLarge("storage: value of " + std::to_string(value.size()) +
                            " bytes exceeds the limit of " + std::to_string(kMaxValueBytes) +
                            " bytes (1.5 MiB)");
  }
  return Status::OK();
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char c = static_cast<unsigned char>(end.back());
    if (c < 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return "";
}

}  // namespace kubepp::storage
