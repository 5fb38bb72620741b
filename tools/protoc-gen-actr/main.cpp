// protoc-gen-actr: protoc calls it with --actr_out=DIR; see docs/codegen.md.
#include <google/protobuf/compiler/plugin.h>

#include "generator.hpp"

int main(int argc, char* argv[]) {
  actr::codegen::ActrGenerator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
