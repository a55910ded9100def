#pragma once
// Where a worker finds a job's input files and puts its outputs: each tenant's own files.
// The worker is written against these two interfaces; tenant_directory keeps both in a folder
// (a local disk, or one the server shares), and the server's upload endpoint will be another.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/attribution.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/file_path.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/json.hpp"
#include "comfyq/model.hpp"
#include "comfyq/output_folder.hpp"

namespace comfyq::comfyui {

/// A tenant's uploads, which its jobs load (LoadImage and its kin).
class input_store {
 public:
  virtual ~input_store() = default;
  /// The bytes of `path` (as stage_inputs read it from the workflow) in `tenant`'s inputs, or
  /// nothing when the tenant has no such file.
  virtual std::optional<std::string> read_input(std::string_view tenant, std::string_view path) = 0;
};

/// A tenant's outputs, one folder per attempt of a job, so that a retried job's files never
/// mix with those of the attempt that died.
class output_store {
 public:
  virtual ~output_store() = default;
  /// Starts the folder of that tenant, job and attempt, which must not exist yet: an attempt is
  /// written once, and never into another run's files. Throws std::filesystem::filesystem_error
  /// (file_exists) when it does.
  virtual void begin_attempt(std::string_view tenant, std::string_view job, std::uint32_t attempt) = 0;
  /// Where on this machine the worker writes the file `where` names (after begin_attempt): the
  /// file's place itself, or a staging file that keep_output() sends on.
  virtual std::filesystem::path staging_path(const artifact_origin& where) = 0;
  /// Keeps the file written at staging_path(where) as `where.name` in the folder of that
  /// tenant, job and attempt.
  virtual void keep_output(const artifact_origin& where) = 0;
  /// Keeps the attempt's manifest beside its files.
  virtual void write_manifest(std::string_view tenant, std::string_view job, std::uint32_t attempt,
                              const std::vector<manifest_entry>& entries) = 0;
  /// Forgets everything of that attempt: its lease was lost, another worker owns the job now.
  virtual void discard(std::string_view tenant, std::string_view job, std::uint32_t attempt) = 0;
};

/// Both stores in one folder:
///
///     <root>/<tenant>/inputs/<path>                          what the tenant uploaded
///     <root>/<tenant>/userdata/<path>                        its ComfyUI's saved workflows and settings
///     <root>/<tenant>/outputs/<job>/<attempt>/<name>          what an attempt of a job wrote
///     <root>/<tenant>/outputs/<job>/<attempt>/manifest.json   its manifest (name, size, sha256, ...)
///
/// Files appear whole: each is written beside its place and renamed into it.
class tenant_directory final : public input_store, public output_store {
 public:
  /// Throws invalid_input when `root` is empty; the folder is created when first written to.
  explicit tenant_directory(std::filesystem::path root) : root_(std::move(root)) {
    if (root_.empty()) throw invalid_input("files.root", "is empty; give the folder that holds the tenants' files");
  }

  const std::filesystem::path& root() const noexcept { return root_; }

  /// <root>/<tenant>/inputs
  std::filesystem::path inputs_of(std::string_view tenant) const { return tenant_folder(tenant) / "inputs"; }
  /// <root>/<tenant>/userdata: the workflows and settings the tenant's ComfyUI web UI saves
  std::filesystem::path userdata_of(std::string_view tenant) const { return tenant_folder(tenant) / "userdata"; }
  /// <root>/<tenant>/outputs/<job>/<attempt>
  std::filesystem::path outputs_of(std::string_view tenant, std::string_view job, std::uint32_t attempt) const {
    validate_id("job", job);
    if (attempt == 0) throw invalid_input("attempt", "must be 1 or more");
    return tenant_folder(tenant) / "outputs" / std::string(job) / std::to_string(attempt);
  }

  std::optional<std::string> read_input(std::string_view tenant, std::string_view path) override {
    const std::filesystem::path file = inputs_of(tenant) / relative("input path", path);
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw std::system_error(errno, std::generic_category(), "reading " + file.string());
    return bytes;
  }

  void begin_attempt(std::string_view tenant, std::string_view job, std::uint32_t attempt) override {
    const std::filesystem::path folder = outputs_of(tenant, job, attempt);
    std::filesystem::create_directories(folder.parent_path());
    if (!std::filesystem::create_directory(folder)) {
      throw std::filesystem::filesystem_error(
          "the outputs of job '" + std::string(job) + "' attempt " + std::to_string(attempt) +
              " would go into a folder that already exists; it is kept as it is (another queue may have used "
              "the same job id)",
          folder, std::make_error_code(std::errc::file_exists));
    }
  }

  /// The file's place in the attempt folder itself (its subfolders made): written there whole.
  std::filesystem::path staging_path(const artifact_origin& where) override {
    const std::filesystem::path file = output_path(where);
    std::filesystem::create_directories(file.parent_path());
    return file;
  }

  /// The file is in place already; says so when it is not.
  void keep_output(const artifact_origin& where) override {
    const std::filesystem::path file = output_path(where);
    if (!std::filesystem::is_regular_file(file)) {
      throw std::filesystem::filesystem_error("an output was not written before it was kept", file,
                                              std::make_error_code(std::errc::no_such_file_or_directory));
    }
  }

  void write_manifest(std::string_view tenant, std::string_view job, std::uint32_t attempt,
                      const std::vector<manifest_entry>& entries) override {
    write_whole(outputs_of(tenant, job, attempt) / "manifest.json", nlohmann::json(entries).dump(2) + "\n");
  }

  void discard(std::string_view tenant, std::string_view job, std::uint32_t attempt) override {
    std::filesystem::remove_all(outputs_of(tenant, job, attempt));
  }

 private:
  std::filesystem::path output_path(const artifact_origin& where) const {
    return outputs_of(where.tenant, where.job, where.attempt) / relative("output name", where.name);
  }

  std::filesystem::path tenant_folder(std::string_view tenant) const {
    validate_id("tenant", tenant);
    return root_ / std::string(tenant);
  }

  // A path below a tenant's folder; attribution and input staging refuse the others before
  // they get here, this keeps the folder safe from any other caller.
  static std::filesystem::path relative(const char* what, std::string_view path) {
    return checked_relative_path(path, what, "give a path inside the tenant's folder");
  }

  static void write_whole(const std::filesystem::path& file, std::string_view bytes) {
    std::filesystem::create_directories(file.parent_path());
    const std::filesystem::path part = file.string() + ".part";
    {
      std::ofstream out(part, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      out.close();
      if (!out) throw std::system_error(errno, std::generic_category(), "writing " + part.string());
    }
    std::filesystem::rename(part, file);
  }

  std::filesystem::path root_;
};

}  // namespace comfyq::comfyui
