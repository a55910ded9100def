#pragma once
// The worker's HTTP client for one ComfyUI (comfyui-protocol/PROTOCOL.md §2, §3, §7, §8): submit a
// prompt, read its history, fetch or download files and upload them, interrupt, and the discovery
// routes.

#include "comfyq/comfyui/detail/http_exchange.hpp"  // first: it includes <utility> before Asio

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/artifact.hpp"
#include "comfyq/comfyui/client_options.hpp"
#include "comfyq/comfyui/detail/multipart.hpp"
#include "comfyq/comfyui/detail/partial_file.hpp"
#include "comfyq/comfyui/detail/url_encoding.hpp"
#include "comfyq/comfyui/history.hpp"
#include "comfyq/comfyui/instance_state.hpp"
#include "comfyq/comfyui/prompt.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/util/sha256.hpp"

namespace comfyq::comfyui {

/// One HTTP answer, as ComfyUI sent it.
struct http_answer {
  unsigned status = 0;
  std::string content_type{};
  std::string body{};
};

/// Where POST /upload/image puts a file.
struct image_upload {
  std::string name;              ///< file name; ComfyUI may answer another ("in (1).png") unless overwrite
  std::string subfolder{};       ///< below the type's folder, "" for its root
  std::string type = "input";    ///< "input", "temp" or "output"
  bool overwrite = false;        ///< replace a file of that name rather than keep both
};

/// A file download() wrote, measured on the way.
struct downloaded_file {
  std::uint64_t size = 0;
  std::string sha256{};  ///< lowercase hex
};

/// How LoadImage and its kin name an uploaded file in a graph: "subfolder/name".
inline std::string load_image_name(const artifact& uploaded) {
  return uploaded.subfolder.empty() ? uploaded.filename : uploaded.subfolder + "/" + uploaded.filename;
}

/// Blocking HTTP calls to one ComfyUI, each on a connection of its own (so a ComfyUI that
/// restarted leaves no stale socket behind), each bounded by the options' timeouts.
///
///     comfyq::comfyui::http_client comfyui({.host = "127.0.0.1", .port = 8188});
///     prompt_answer answer = comfyui.post_prompt(graph, job_id, worker_client_id);
///     prompt_record record = comfyui.history(job_id);  // once the WebSocket says it is over
///     std::optional<downloaded_file> file = comfyui.download(record.outputs.front(), "out.png");
///
/// When ComfyUI cannot be reached or does not answer in time, a call throws
/// comfyq::comfyui_unavailable, which says whether the request was sent (a POST that was may
/// or may not have been carried out). An answer no ComfyUI gives throws
/// comfyq::comfyui_protocol_error; one above the options' max_answer_bytes (max_download_bytes
/// for download) throws comfyq::invalid_input naming that option. Holds no socket between
/// calls: copy it freely.
class http_client {
 public:
  /// Throws invalid_input for options no client can use; connects only when called.
  explicit http_client(client_options options) : options_(std::move(options)) { options_.validate(); }

  const client_options& options() const noexcept { return options_; }

  /// POST /prompt: submits `graph` (API format) under the worker's prompt_id and client_id.
  /// A 400, a partial accept or a 5xx are outcomes in the answer (see prompt.hpp), not exceptions.
  prompt_answer post_prompt(const nlohmann::json& graph, std::string_view prompt_id, std::string_view client_id) const {
    const http_answer answer = post("/prompt", prompt_request(graph, prompt_id, client_id).dump(), "application/json");
    return read_prompt_answer(answer.status, answer.body, prompt_id);
  }

  /// GET /history/{prompt_id}: how the prompt ended and its output files; `found` is false while
  /// it is queued or running, and for a prompt ComfyUI does not know.
  prompt_record history(std::string_view prompt_id) const {
    return read_history(get_json("/history/" + detail::url_encode(prompt_id), "history"), prompt_id);
  }

  /// GET /view: the bytes of a small file ComfyUI reported (or of an upload), held in memory, at
  /// most max_answer_bytes; nullopt when ComfyUI has no such file (a temp file after a restart).
  /// Throws invalid_input for a file name or subfolder ComfyUI refuses to serve.
  std::optional<std::string> view(const artifact& file) const {
    http_answer answer = get(view_target(file));
    if (answer.status == 200) return std::move(answer.body);
    if (answer.status == 404) return std::nullopt;
    throw_view_refused(file, answer.status);
  }

  /// GET /view, streamed into `destination` (written beside it under a temporary name and renamed
  /// into place once whole, so it never holds part of a file), at most max_download_bytes. Its
  /// size and sha256; nullopt when ComfyUI has no such file. Throws as view() does, and
  /// std::system_error when the disk refuses the bytes.
  std::optional<downloaded_file> download(const artifact& file, const std::filesystem::path& destination) const {
    namespace http = detail::http;
    detail::http_exchange call(options_, download_limit(), http::verb::get, view_target(file), "", "");
    http::response_parser<http::buffer_body> parser;
    call.read_header(parser);
    const unsigned status = parser.get().result_int();
    if (status == 404) return std::nullopt;
    if (status != 200) throw_view_refused(file, status);

    detail::partial_file part(destination);
    comfyq::util::sha256 hash;
    downloaded_file done;
    std::string piece(64 * 1024, '\0');
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      call.read_piece(parser);
      const std::size_t got = piece.size() - parser.get().body().size;
      part.write(piece.data(), got);
      hash.update(std::string_view(piece.data(), got));
      done.size += got;
    }
    part.commit();
    done.sha256 = hash.hex_digest();
    return done;
  }

  /// POST /upload/image (multipart): stores `bytes` as `where` says. Returns the file as ComfyUI
  /// stored it (its name may differ; pass load_image_name(file) to LoadImage). ComfyUI does not
  /// check that the bytes are an image: a corrupt one fails later, in the job.
  artifact upload_image(std::string_view bytes, const image_upload& where) const {
    check_header_text(where.name, "upload.name");
    check_header_text(where.subfolder, "upload.subfolder");
    if (where.name.empty()) throw invalid_input("upload.name", "is empty; give the file name to store the image under");
    if (where.type != "input" && where.type != "temp" && where.type != "output") {
      throw invalid_input("upload.type", "is '" + where.type + "'; ComfyUI stores uploads as input, temp or output");
    }
    const detail::multipart_form form = detail::encode_multipart({
        {.name = "image", .value = bytes, .filename = where.name},
        {.name = "type", .value = where.type},
        {.name = "subfolder", .value = where.subfolder},
        {.name = "overwrite", .value = where.overwrite ? "true" : "false"},
    });
    const http_answer answer = post("/upload/image", form.body, form.content_type);
    if (answer.status == 400) {
      throw invalid_input("upload.subfolder", "'" + where.subfolder + "' was refused by ComfyUI (400): it must stay "
                                                                      "inside the " + where.type + " folder");
    }
    if (answer.status != 200) throw unexpected_status("upload", "POST /upload/image", answer.status);
    const nlohmann::json stored = parse_object(answer.body, "upload", "POST /upload/image");
    const auto text = [&](const char* key) {
      const auto found = stored.find(key);
      if (found == stored.end() || !found->is_string()) {
        throw comfyui_protocol_error(std::string("upload.") + key, "is missing from ComfyUI's answer; it answers "
                                                                   "{\"name\", \"subfolder\", \"type\"}");
      }
      return found->get<std::string>();
    };
    return artifact{.filename = text("name"), .subfolder = text("subfolder"), .type = text("type"), .node = ""};
  }

  /// POST /interrupt {"prompt_id"}: stops the prompt if it is the one running (at its next node,
  /// or a sampler's next step); does nothing otherwise.
  void interrupt(std::string_view prompt_id) const {
    const http_answer answer = post("/interrupt", nlohmann::json{{"prompt_id", prompt_id}}.dump(), "application/json");
    if (answer.status != 200) throw unexpected_status("interrupt", "POST /interrupt", answer.status);
  }

  /// GET /queue: the running prompt and the pending ones.
  std::vector<queued_prompt> queue() const { return read_queue(get_json("/queue", "queue")); }

  /// POST /queue {"delete": [prompt_id]}: takes the prompt out of the queue if it is pending
  /// (a running prompt stays: interrupt it).
  void delete_pending(std::string_view prompt_id) const {
    const http_answer answer =
        post("/queue", nlohmann::json{{"delete", nlohmann::json::array({prompt_id})}}.dump(), "application/json");
    if (answer.status != 200) throw unexpected_status("queue", "POST /queue", answer.status);
  }

  /// GET /system_stats: {"system": {comfyui_version, ...}, "devices": [...]}.
  nlohmann::json system_stats() const { return get_json("/system_stats", "system_stats"); }

  /// GET /object_info: every node class ComfyUI has, class -> definition.
  nlohmann::json object_info() const { return get_json("/object_info", "object_info"); }

  /// GET `target` (path and query, already encoded), whatever the answer's status.
  http_answer get(std::string_view target) const { return exchange(detail::http::verb::get, target, "", ""); }

  /// POST `body` to `target`, whatever the answer's status.
  http_answer post(std::string_view target, std::string body, std::string_view content_type) const {
    return exchange(detail::http::verb::post, target, std::move(body), content_type);
  }

 private:
  // One request, its whole answer held in memory.
  http_answer exchange(detail::http::verb verb, std::string_view target, std::string body,
                       std::string_view content_type) const {
    namespace http = detail::http;
    detail::http_exchange call(options_, answer_limit(), verb, target, std::move(body), content_type);
    http::response_parser<http::string_body> parser;
    call.read_header(parser);
    call.read_body(parser);
    http_answer answer;
    answer.status = parser.get().result_int();
    answer.content_type = std::string(parser.get()[http::field::content_type]);
    answer.body = std::move(parser.get().body());
    return answer;
  }

  detail::body_limit answer_limit() const {
    return {.bytes = options_.max_answer_bytes,
            .option = "comfyui.max_answer_bytes",
            .advice = "raise it to hold answers this large in memory (download() takes large files to disk)"};
  }

  detail::body_limit download_limit() const {
    return {.bytes = options_.max_download_bytes,
            .option = "comfyui.max_download_bytes",
            .advice = "raise it if the workflows make files this large"};
  }

  static std::string view_target(const artifact& file) {
    return "/view?filename=" + detail::url_encode(file.filename) + "&subfolder=" + detail::url_encode(file.subfolder) +
           "&type=" + detail::url_encode(file.type);
  }

  // Why /view did not serve `file`: ComfyUI refuses names that leave its folders.
  [[noreturn]] void throw_view_refused(const artifact& file, unsigned status) const {
    if (status == 400) {
      throw invalid_input("artifact.filename", "'" + file.filename + "' (type '" + file.type +
                                                    "') was refused by ComfyUI: a file name must not start with '/' or "
                                                    "contain '..', and the type must be output, input or temp");
    }
    if (status == 403) {
      throw invalid_input("artifact.subfolder", "'" + file.subfolder + "' leaves ComfyUI's " + file.type +
                                                     " folder; use the subfolder ComfyUI reported");
    }
    throw unexpected_status("view", "GET /view", status);
  }

  nlohmann::json get_json(const std::string& target, const std::string& field) const {
    const http_answer answer = get(target);
    if (answer.status != 200) throw unexpected_status(field, "GET " + target, answer.status);
    return parse_object(answer.body, field, "GET " + target);
  }

  nlohmann::json parse_object(std::string_view body, const std::string& field, const std::string& what) const {
    nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
      throw comfyui_protocol_error(field, what + " answered with a body that is not a JSON object, as ComfyUI's is; "
                                                 "is ComfyUI listening on " + options_.address() + "?");
    }
    return json;
  }

  comfyui_protocol_error unexpected_status(const std::string& field, const std::string& what, unsigned status) const {
    return comfyui_protocol_error(field, what + " answered " + std::to_string(status) +
                                             ", which ComfyUI 0.8 does not; is ComfyUI (and which version) "
                                             "listening on " + options_.address() + "?");
  }

  // The name and subfolder go into a quoted multipart header as they are.
  static void check_header_text(const std::string& text, const char* field) {
    if (text.find_first_of("\"\r\n") != std::string::npos) {
      throw invalid_input(field, "holds a quote or a line break; choose a name without them");
    }
  }

  client_options options_;
};

}  // namespace comfyq::comfyui
