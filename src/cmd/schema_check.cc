// Developer tool: parses schema definition files and reports syntax errors
// and unresolved type names.
//   schema_check FILE...                 all files together must resolve
//   schema_check --allow-unresolved FILE...
#include <cstdio>
#include <cstring>

#include "api/schema/schema.h"
#include "common/file.h"

int main(int argc, char** argv) {
  bool allow_unresolved = false;
  kubepp::api::schema::Registry r;
  int files = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--allow-unresolved") == 0) {
      allow_unresolved = true;
      continue;
    }
    auto text = kubepp::ReadFile(argv[i]);
    if (!text.ok()) {
      std::fprintf(stderr, "%s\n", text.status().ToString().c_str());
      return 1;
    }
    kubepp::Status st = r.Parse(*text, argv[i]);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
    ++files;
  }
  kubepp::Status st = r.Resolve();
  size_t fields = 0, kinds = 0;
  for (const auto& t : r.types()) {
    fields += t->fields.size();
    kinds += t->gvks.size();
  }
  std::printf("%d files, %zu types, %zu fields, %zu kinds\n", files, r.types().size(), fields, kinds);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return allow_unresolved ? 0 : 1;
  }
  return 0;
}
