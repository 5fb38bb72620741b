#include "actr/runtime/node_files.hpp"

#include <fmt/format.h>
#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor_database.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <cctype>

#include <actr/config/fingerprint.hpp>
#include <actr/config/lock_file.hpp>
#include <actr/config/manifest.hpp>
#include <actr/config/node_file.hpp>

namespace actr {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;

/// Collects the parser's complaints about exports.protos into one message.
class ProtoErrors : public pb::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string&, int line, int column, const std::string& message) override {
    if (!text.empty()) text += "; ";
    // The file is the one being loaded; the caller puts its full path in front.
    text += line < 0 ? message : fmt::format("{}:{}: {}", line + 1, column + 1, message);
  }
  std::string text;
};

class PoolErrors : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& file, const std::string& element, const pb::Message*, ErrorLocation,
                const std::string& message) override {
    if (!text.empty()) text += "; ";
    text += fmt::format("{}: {}: {}", file, element, message);
  }
  std::string text;
};

/// The exported services' descriptors: linked into the program when it has them (the code that
/// runs is the contract), else parsed from exports.protos on disk.
class ServiceFinder {
 public:
  ServiceFinder(const fs::path& manifest_dir, const std::vector<fs::path>& proto_paths)
      : linked_db_(*pb::DescriptorPool::generated_pool()),
        disk_db_(&tree_),
        merged_(&linked_db_, &disk_db_),
        pool_(&merged_, &pool_errors_) {
    tree_.MapPath("", manifest_dir.empty() ? "." : manifest_dir.string());
    for (const auto& root : proto_paths) tree_.MapPath("", root.string());
    disk_db_.RecordErrorsTo(&proto_errors_);
  }

  /// The services a .proto file declares.
  Result<std::vector<std::string>> services_of(const fs::path& proto, const fs::path& manifest_dir) {
    auto file = load(proto, manifest_dir);
    if (!file) return std::unexpected(std::move(file.error()));
    std::vector<std::string> names;
    for (int i = 0; i < (*file)->service_count(); ++i) names.push_back((*file)->service(i)->full_name());
    return names;
  }

  Result<const pb::FileDescriptor*> load(const fs::path& proto, const fs::path& manifest_dir) {
    fs::path relative = proto.lexically_relative(manifest_dir.empty() ? fs::path(".") : manifest_dir);
    if (relative.empty() || *relative.begin() == "..") {
      tree_.MapPath("", proto.parent_path().string());
      relative = proto.filename();
    }
    const auto* file = pool_.FindFileByName(relative.generic_string());
    if (!file) {
      std::string why =
          !proto_errors_.text.empty()
              ? fmt::format("{}:{}{}", proto.string(),
                            std::isdigit(static_cast<unsigned char>(proto_errors_.text[0])) ? "" : " ",
                            proto_errors_.text)
          : !pool_errors_.text.empty() ? fmt::format("{}: {}", proto.string(), pool_errors_.text)
                                       : fmt::format("{}: cannot read it", proto.string());
      return fail(ErrorCode::InvalidArgument, why);
    }
    return file;
  }

  const pb::ServiceDescriptor* find(const std::string& name) {
    if (const auto* linked = pb::DescriptorPool::generated_pool()->FindServiceByName(name)) return linked;
    return pool_.FindServiceByName(name);
  }

 private:
  pb::compiler::DiskSourceTree tree_;
  pb::DescriptorPoolDatabase linked_db_;
  pb::compiler::SourceTreeDescriptorDatabase disk_db_;
  pb::MergedDescriptorDatabase merged_;
  ProtoErrors proto_errors_;
  PoolErrors pool_errors_;
  pb::DescriptorPool pool_;
};

Error with_file(const fs::path& file, const Error& error) {
  // The config library's messages already start with the file name; others get it here.
  if (error.message.starts_with(file.string())) return error;
  return Error{error.code, fmt::format("{}: {}", file.string(), error.message)};
}

Result<void> fill_service(const config::Manifest& manifest, const fs::path& manifest_path,
                          const NodeFileOptions& options, RemoteConfig& remote) {
  const fs::path dir = manifest_path.parent_path();
  ServiceFinder finder(dir, options.proto_paths);
  std::vector<std::string> services = manifest.exports.services;
  for (const auto& proto : manifest.exports.protos) {
    // Every listed file must parse, also when the services are linked in: a broken file is a
    // broken package.
    auto declared = finder.services_of(proto, dir);
    if (!declared) {
      return fail(ErrorCode::InvalidArgument, fmt::format("{}: key 'exports.protos': {}",
                                                          manifest_path.string(), declared.error().message));
    }
    if (manifest.exports.services.empty())
      services.insert(services.end(), declared->begin(), declared->end());
  }
  if (services.empty()) return {};  // a pure client: registers without a service
  const pb::ServiceDescriptor* first = nullptr;
  for (const auto& name : services) {
    const auto* service = finder.find(name);
    if (!service) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("{}: key 'exports.services': service '{}' is not declared in exports.protos",
                              manifest_path.string(), name));
    }
    if (!first) first = service;
  }
  // RegisterRequest carries one service: the first exported one.
  remote.service = config::service_registration(*first);
  ServiceSpec spec = config::make_service_spec(*first);
  if (!manifest.package.description.empty()) spec.set_description(manifest.package.description);
  for (const auto& tag : manifest.package.tags) spec.add_tags(tag);
  remote.service_spec = std::move(spec);
  return {};
}

}  // namespace

Result<NodeFiles> load_node_files(const fs::path& actr_toml, const NodeFileOptions& options) {
  NodeFiles out;
  out.actr_toml = actr_toml;
  out.manifest = options.manifest.empty() ? actr_toml.parent_path() / "manifest.toml" : options.manifest;
  fs::path lock_path =
      options.lock_file.empty() ? actr_toml.parent_path() / "manifest.lock.toml" : options.lock_file;

  config::EnvLookup env =
      options.env ? config::EnvLookup(options.env) : config::EnvLookup(config::process_env);
  auto node_file = config::load_node_file(actr_toml, env);
  if (!node_file) return std::unexpected(with_file(actr_toml, node_file.error()));
  auto manifest = config::load_manifest(out.manifest);
  if (!manifest) return std::unexpected(with_file(out.manifest, manifest.error()));

  std::error_code ec;
  if (fs::exists(lock_path, ec)) {
    auto lock = config::load_lock_file(lock_path);
    if (!lock) return std::unexpected(with_file(lock_path, lock.error()));
    if (auto checked = config::check_lock(*manifest, *lock); !checked) {
      return std::unexpected(with_file(lock_path, checked.error()));
    }
    out.lock_file = lock_path;
  } else if (!options.lock_file.empty()) {
    return fail(ErrorCode::NotFound, fmt::format("{}: no such file", lock_path.string()));
  }

  NodeConfig& config = out.config;
  config.actr_type = manifest->actr_type();
  config.realm_id = node_file->realm_id;
  if (node_file->idle_spin_us) config.idle_spin = std::chrono::microseconds(*node_file->idle_spin_us);
  if (node_file->tune_allocator) config.tune_allocator = *node_file->tune_allocator;
  RemoteConfig remote;
  remote.signaling_url = node_file->signaling_url;
  remote.ais_url = node_file->ais_url;
  remote.realm_secret = node_file->realm_secret;
  const auto& filter = node_file->duplicate_filter;
  if (filter.requests) remote.duplicate_filter.requests = *filter.requests;
  if (filter.answers_mib) remote.duplicate_filter.answer_bytes = std::size_t{*filter.answers_mib} << 20;
  if (filter.answer_max_kib)
    remote.duplicate_filter.answer_at_most = std::size_t{*filter.answer_max_kib} << 10;
  if (node_file->websocket) {
    remote.ws_listen_host = node_file->websocket->listen_host;
    remote.ws_listen_port = node_file->websocket->listen_port;
    remote.ws_advertised_host = node_file->websocket->advertised_host;
    remote.ws_advertised_port = node_file->websocket->advertised_port;
  } else {
    remote.ws_listen_host.clear();  // no [websocket]: the node only dials
  }
  remote.heartbeat_interval_secs = node_file->heartbeat_interval_secs;
  remote.acl = node_file->to_acl();
  remote.lock_file = out.lock_file.string();
  if (auto filled = fill_service(*manifest, out.manifest, options, remote); !filled) {
    return std::unexpected(std::move(filled.error()));
  }
  config.remote = std::move(remote);
  out.logging.level = node_file->logging.level;
  out.logging.file = node_file->logging.file;
  return out;
}

Result<void> apply_logging(const NodeLogging& logging) {
  auto level = spdlog::level::from_str(logging.level);
  if (level == spdlog::level::off && logging.level != "off") {
    return fail(ErrorCode::InvalidArgument, fmt::format("unknown logging level '{}'", logging.level));
  }
  if (logging.file) {
    try {
      std::error_code ec;
      if (logging.file->has_parent_path()) fs::create_directories(logging.file->parent_path(), ec);
      std::string name = "actr-node:" + logging.file->string();
      auto logger = spdlog::get(name);
      if (!logger) logger = spdlog::basic_logger_mt(name, logging.file->string());
      logger->flush_on(spdlog::level::warn);
      spdlog::set_default_logger(std::move(logger));
    } catch (const spdlog::spdlog_ex& e) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("logging.file '{}': {}", logging.file->string(), e.what()));
    }
  }
  spdlog::set_level(level);
  return {};
}

Result<NodeConfig> load_node_config(const fs::path& actr_toml, const NodeFileOptions& options) {
  auto files = load_node_files(actr_toml, options);
  if (!files) return std::unexpected(std::move(files.error()));
  if (auto applied = apply_logging(files->logging); !applied) {
    return std::unexpected(with_file(actr_toml, applied.error()));
  }
  return std::move(files->config);
}

}  // namespace actr
