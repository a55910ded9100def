#pragma once
// One run of one leased job on the worker's ComfyUI: stage its inputs, tag its outputs,
// submit it under the job id, follow its WebSocket while renewing the lease, and collect its
// outputs into the tenant's store. How the run ended decides what the worker then tells the
// store (see run_end); the worker does that, a run only reports.
//
// Every wait is bounded: the lease is renewed every heartbeat_interval; a cancel or preempt
// request, a stop request past drain_grace, or max_runtime interrupt the prompt and wait at most
// interrupt_wait for ComfyUI to stop it; a dropped socket is reconnected for at most
// reconnect_wait, after which the job counts as lost with its ComfyUI.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/attribution.hpp"
#include "comfyq/backoff.hpp"
#include "comfyq/comfyui/detail/base64.hpp"
#include "comfyq/comfyui/detail/measured_copy.hpp"
#include "comfyq/comfyui/http_client.hpp"
#include "comfyq/comfyui/lease_keeper.hpp"
#include "comfyq/comfyui/prompt_follower.hpp"
#include "comfyq/comfyui/stop_request_watch.hpp"
#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/comfyui/worker_log.hpp"
#include "comfyq/comfyui/worker_options.hpp"
#include "comfyq/comfyui/ws_client.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/input_staging.hpp"
#include "comfyq/manifest.hpp"
#include "comfyq/model.hpp"
#include "comfyq/output_tagging.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::comfyui {

/// How a run ended, and so what the worker tells the store.
enum class run_end {
  succeeded,         ///< complete() with the outputs
  failed,            ///< fail(), final: running it again would end the same way
  failed_retryable,  ///< fail(), retryable: counts an attempt (ComfyUI died while running it)
  released,          ///< release(): requeued without an attempt, or cancelled if that was asked
  lease_lost,        ///< nothing: another worker owns the job now
};

constexpr std::string_view to_string(run_end end) noexcept {
  switch (end) {
    case run_end::succeeded: return "succeeded";
    case run_end::failed: return "failed";
    case run_end::failed_retryable: return "failed_retryable";
    case run_end::released: return "released";
    case run_end::lease_lost: return "lease_lost";
  }
  return "unknown";
}

struct run_result {
  run_end end = run_end::succeeded;
  std::string reason{};
  std::vector<manifest_entry> outputs{};
  bool comfyui_down = false;  ///< ComfyUI could not be reached: back off before the next job
};

/// What a run borrows from its worker.
struct run_context {
  store::contract& store;
  const http_client& comfyui;
  input_store& inputs;
  output_store& outputs;
  const worker_options& options;
  const std::vector<upload_input>& upload_inputs;
  const std::atomic<bool>& stop_requested;
  const log_sink& log;
  stop_request_watch& stop_requests;  ///< hears of a cancel or preempt at once
  std::function<void()> on_draining;  ///< the run saw the stop request: the worker says it is draining
};

/// The prompt_id of one attempt of a job in ComfyUI: the job id, and from the second attempt on
/// "<job>.<attempt>". ComfyUI accepts a prompt_id it already has, then sends both prompts'
/// frames under it and keeps one history entry: an attempt still running where the last one
/// was given up (its worker killed, its lease lost) must not be taken for the new one.
inline std::string prompt_id_for(std::string_view job, std::uint32_t attempt) {
  return attempt <= 1 ? std::string(job) : std::string(job) + "." + std::to_string(attempt);
}

/// Why a job that took its ComfyUI down with it is retried, and, when it does so every time,
/// what its dead state says.
inline constexpr std::string_view comfyui_died_reason = "ComfyUI died or restarted while running it";

class job_run {
  using clock = std::chrono::steady_clock;

 public:
  job_run(run_context context, comfyq::lease lease)
      : c_(context),
        lease_(std::move(lease)),
        prompt_id_(prompt_id_for(lease_.job_id, lease_.attempt)),
        follower_(prompt_id_) {}

  run_result run() {
    try {
      nlohmann::json graph = prepare();
      submit(graph);
      try {
        follow();
      } catch (const finished_anyway&) {
      }
      return collect();
    } catch (const ended& e) {
      return e.result;
    }
  }

 private:
  // Unwinds a run from wherever its end became known.
  struct ended {
    run_result result;
  };
  // Unwinds a stop whose prompt had finished anyway: its outputs are collected.
  struct finished_anyway {};

  [[noreturn]] static void end(run_end how, std::string reason) {
    throw ended{run_result{.end = how, .reason = std::move(reason), .outputs = {}, .comfyui_down = false}};
  }
  // Ends a run whose ComfyUI stopped answering: the worker waits for it before the next job.
  [[noreturn]] static void end_with_comfyui_down(run_end how, std::string reason) {
    throw ended{run_result{.end = how, .reason = std::move(reason), .outputs = {}, .comfyui_down = true}};
  }

  void log(log_level level, std::string event, nlohmann::json fields = nlohmann::json::object()) const {
    if (!c_.log) return;
    fields["job"] = lease_.job_id;
    fields["tenant"] = lease_.tenant;
    fields["attempt"] = lease_.attempt;
    c_.log(log_record{.level = level, .event = std::move(event), .fields = std::move(fields)});
  }

  // A call to ComfyUI before the prompt runs: when ComfyUI cannot be reached (or answers
  // nonsense) the job goes back to the queue untouched and the worker backs off.
  template <class Call>
  auto before_run(Call call) -> decltype(call()) {
    try {
      return call();
    } catch (const comfyui_unavailable& e) {
      end_with_comfyui_down(run_end::released, e.what());
    } catch (const comfyui_protocol_error& e) {
      end_with_comfyui_down(run_end::released, e.what());
    }
  }

  // A call to ComfyUI after the prompt ran (its history, its files): the GPU time is spent, so
  // a failure here counts an attempt; a job that always fails here ends dead, not rerun forever.
  template <class Call>
  auto after_run(Call call) -> decltype(call()) {
    try {
      return call();
    } catch (const comfyui_unavailable& e) {
      end_with_comfyui_down(run_end::failed_retryable,
                            "the prompt ran, but its outcome could not be read: " + std::string(e.what()));
    } catch (const comfyui_protocol_error& e) {
      end_with_comfyui_down(run_end::failed_retryable,
                            "the prompt ran, but its outcome could not be read: " + std::string(e.what()));
    }
  }

  // ---- before the prompt: inputs, output tags ------------------------------------------

  nlohmann::json prepare() {
    nlohmann::json graph = nlohmann::json::parse(lease_.workflow, nullptr, false);
    if (graph.is_discarded()) {
      end(run_end::failed, invalid_input("workflow", "is not JSON; submit the workflow as ComfyUI's \"Export (API)\" "
                                                     "writes it").what());
    }
    std::vector<input_file> files;
    try {
      files = stage_inputs(graph, lease_.tenant, lease_.job_id, lease_.attempt, c_.upload_inputs);
      tag_outputs(graph, lease_.tenant, lease_.job_id, lease_.attempt);
    } catch (const invalid_input& e) {
      end(run_end::failed, e.what());
    }
    for (const input_file& file : files) upload(graph, file);
    return graph;
  }

  void upload(const nlohmann::json& graph, const input_file& file) {
    std::optional<std::string> bytes = with_files([&] { return c_.inputs.read_input(lease_.tenant, file.file); });
    if (!bytes) {
      const std::string node_class = graph.at(file.node).value("class_type", "");
      end(run_end::failed, not_found("workflow." + file.node + ".inputs." + file.input,
                                     "node " + file.node + " (" + node_class + ") loads '" + file.file +
                                         "', which tenant '" + lease_.tenant +
                                         "' has not uploaded; upload it, then submit again")
                               .what());
    }
    before_run([&] {
      return c_.comfyui.upload_image(*bytes, {.name = file.name, .subfolder = file.subfolder, .type = "input",
                                              .overwrite = true});
    });
  }

  // ---- submitting ------------------------------------------------------------------------

  void submit(const nlohmann::json& graph) {
    // The socket first, so that no frame of the prompt is sent before it listens.
    connect();
    started_ = clock::now();
    next_heartbeat_ = started_ + c_.options.heartbeat_interval;
    const std::optional<prompt_answer> answered = post_prompt(graph);
    if (!answered) return;  // its answer was lost, but ComfyUI has the prompt: follow it
    const prompt_answer& answer = *answered;
    switch (answer.outcome) {
      case prompt_outcome::accepted:
        log(log_level::info, "job.submitted", {{"prompt_id", prompt_id_}, {"comfyui_number", answer.number}});
        return;
      case prompt_outcome::retryable:
        end_with_comfyui_down(run_end::released, answer.reason);
      case prompt_outcome::rejected:
        // A partial accept runs what ComfyUI kept: stop it. ComfyUI's own error shape goes to
        // the job's events, the reason says it in one line.
        if (!answer.details.contains("error")) stop_in_comfyui();
        publish({{"comfyui_rejection", answer.details}});
        end(run_end::failed, answer.reason);
    }
  }

  // POST /prompt. An answer lost after the request went out leaves the prompt perhaps accepted:
  // ComfyUI's queue and history say whether it was; an accepted prompt is followed (nothing
  // runs twice), one that was not goes back to the queue as if ComfyUI had not been reached.
  std::optional<prompt_answer> post_prompt(const nlohmann::json& graph) {
    try {
      return c_.comfyui.post_prompt(graph, prompt_id_, c_.options.id);
    } catch (const comfyui_protocol_error& e) {
      end_with_comfyui_down(run_end::released, e.what());
    } catch (const comfyui_unavailable& e) {
      if (!e.request_sent()) end_with_comfyui_down(run_end::released, e.what());
      log(log_level::warning, "job.submission_uncertain", {{"reason", e.what()}});
      if (adopt_lost_submission()) return std::nullopt;
      end_with_comfyui_down(run_end::released, e.what());
    }
  }

  // Whether ComfyUI holds the prompt whose submission answer was lost; if it cannot say, the
  // prompt may run there, so the attempt counts (clear_leftovers stops it when ComfyUI is back).
  bool adopt_lost_submission() {
    try {
      const std::vector<queued_prompt> queue = c_.comfyui.queue();
      if (std::any_of(queue.begin(), queue.end(), [&](const queued_prompt& p) { return p.prompt_id == prompt_id_; })) {
        log(log_level::info, "job.submission_adopted", {{"prompt_id", prompt_id_}, {"where", "queue"}});
        return true;
      }
      prompt_record record = c_.comfyui.history(prompt_id_);
      if (!record.found) return false;
      log(log_level::info, "job.submission_adopted", {{"prompt_id", prompt_id_}, {"where", "history"}});
      recovered_ = std::move(record);
      return true;
    } catch (const comfyq::error& e) {
      end_with_comfyui_down(
          run_end::failed_retryable,
          "ComfyUI stopped answering while the prompt was submitted, so it may have run: " + std::string(e.what()));
    }
  }

  void connect() {
    before_run([&] {
      socket_.emplace(c_.comfyui.options(), c_.options.id, ws_options{.preview_metadata = c_.options.preview_max_bytes > 0});
    });
  }

  // ---- following -------------------------------------------------------------------------

  void follow() {
    while (!follower_.over() && !recovered_) {
      tend_lease();
      read_frame();
    }
  }

  // Reads one frame (or waits a slice for it), feeding the follower and publishing progress.
  void read_frame() {
    const auto slice = std::min<clock::duration>(std::chrono::milliseconds(200), next_heartbeat_ - clock::now());
    std::optional<ws_frame> frame;
    try {
      frame = socket_->read(std::chrono::duration_cast<std::chrono::milliseconds>(std::max<clock::duration>(slice, {})));
    } catch (const comfyui_unavailable& e) {
      log(log_level::warning, "comfyui.socket_lost", {{"reason", e.what()}});
      if (stopping_) {
        socket_.reset();  // the run ends as planned; the prompt is interrupted or gone with ComfyUI
        return;
      }
      recover();
      return;
    } catch (const comfyui_protocol_error& e) {
      log(log_level::warning, "comfyui.bad_frame", {{"reason", e.what()}});
      return;
    }
    if (!frame) return;
    if (const auto* text = std::get_if<message>(&*frame)) {
      if (std::optional<nlohmann::json> progress = follower_.on_message(*text)) publish(*progress);
    } else {
      publish_preview(std::get<binary_message>(*frame).frame());
    }
  }

  void publish_preview(const binary_frame& frame) {
    if (frame.type != binary_type::preview_image_with_metadata || frame.prompt_id != prompt_id_) return;
    if (frame.payload.size() > c_.options.preview_max_bytes) return;
    publish({{"node", frame.node},
             {"preview", {{"media_type", frame.media_type}, {"base64", detail::base64_encode(frame.payload)}}}});
  }

  // Progress is best effort: a store that does not answer now misses a step, not the job.
  void publish(const nlohmann::json& data) {
    try {
      c_.store.report_progress(lease_.job_id, lease_.token, data);
    } catch (const lease_lost& e) {
      lost(e.what());
    } catch (const store_unavailable& e) {
      log(log_level::warning, "store.progress_skipped", {{"reason", e.what()}});
    }
  }

  // Renews the lease when it is due, and stops the prompt when the lease, the worker or the
  // job's time says so.
  void tend_lease() {
    const auto now = clock::now();
    if (now >= next_heartbeat_ || c_.stop_requests.take_request()) {
      next_heartbeat_ = now + c_.options.heartbeat_interval;
      try {
        const lease_status status = c_.store.heartbeat(lease_.job_id, lease_.token);
        if (!stopping_ && status.cancel_requested) stop(run_end::released, "cancelled while running");
        if (!stopping_ && status.preempt_requested) stop(run_end::released, "preempted for priority work");
      } catch (const lease_lost& e) {
        lost(e.what());
      } catch (const store_unavailable& e) {
        // The lease lasts lease_ttl; try again soon, and learn of its loss then if it expired.
        next_heartbeat_ = now + std::min<clock::duration>(c_.options.heartbeat_interval, std::chrono::seconds(1));
        log(log_level::warning, "store.heartbeat_failed", {{"reason", e.what()}});
      }
    }
    if (stopping_) return;
    if (c_.stop_requested.load() && !drain_deadline_) {
      drain_deadline_ = now + c_.options.drain_grace;
      log(log_level::info, "job.draining", {{"grace_ms", c_.options.drain_grace.count()}});
      if (c_.on_draining) c_.on_draining();
    }
    if (drain_deadline_ && now >= *drain_deadline_) {
      stop(run_end::released, "the worker stopped and the job did not finish within its drain_grace");
    }
    if (now - started_ >= c_.options.max_runtime) {
      stop(run_end::failed, "ran longer than max_runtime (" +
                                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(c_.options.max_runtime).count()) +
                                " s) and was interrupted; raise the worker's max_runtime for jobs this long");
    }
  }

  // The lease is gone: stop spending the GPU on a job another worker owns, keep no result.
  [[noreturn]] void lost(const std::string& why) {
    stop_in_comfyui();
    end(run_end::lease_lost, why);
  }

  // Interrupts the prompt, waits (bounded) for ComfyUI to stop it, then ends the run.
  [[noreturn]] void stop(run_end how, std::string reason) {
    stopping_ = true;
    log(log_level::info, "job.interrupting", {{"reason", reason}});
    stop_in_comfyui();
    const auto deadline = clock::now() + c_.options.interrupt_wait;
    while (socket_ && !follower_.over() && !recovered_ && clock::now() < deadline) {
      tend_lease();
      read_frame();
    }
    // The prompt finished before the interrupt reached it: the work is done, and a finished job
    // is kept whatever was asked of it since (completion wins, as in the store).
    if (how == run_end::released && follower_.over() && follower_.end() == prompt_end::succeeded) {
      log(log_level::info, "job.finished_before_stop", {{"reason", reason}});
      throw finished_anyway{};
    }
    end(how, std::move(reason));
  }

  // Takes the prompt out of ComfyUI's queue or interrupts it; best effort (ComfyUI may be gone).
  void stop_in_comfyui() noexcept {
    try {
      c_.comfyui.delete_pending(prompt_id_);
      c_.comfyui.interrupt(prompt_id_);
    } catch (const std::exception& e) {
      log(log_level::warning, "comfyui.interrupt_failed", {{"reason", e.what()}});
    }
  }

  // The socket dropped: reconnect and find out from ComfyUI what became of the prompt, which
  // may still run, may be over (its history says how), or may be forgotten (ComfyUI restarted).
  void recover() {
    socket_.reset();
    const auto deadline = clock::now() + c_.options.reconnect_wait;
    comfyq::backoff waits(c_.options.backoff);
    std::minstd_rand random(std::random_device{}());
    for (;;) {
      tend_lease();
      try {
        socket_.emplace(c_.comfyui.options(), c_.options.id,
                        ws_options{.preview_metadata = c_.options.preview_max_bytes > 0});
        const std::vector<queued_prompt> queue = c_.comfyui.queue();
        if (std::any_of(queue.begin(), queue.end(), [&](const queued_prompt& p) { return p.prompt_id == prompt_id_; })) {
          log(log_level::info, "comfyui.socket_recovered");
          return;
        }
        prompt_record record = c_.comfyui.history(prompt_id_);
        if (!record.found) {
          log(log_level::warning, "comfyui.forgot_job");
          end(run_end::failed_retryable, std::string(comfyui_died_reason));
        }
        recovered_ = std::move(record);
        return;
      } catch (const comfyui_unavailable& e) {
        socket_.reset();
        const auto now = clock::now();
        if (now >= deadline) end_with_comfyui_down(run_end::failed_retryable, std::string(comfyui_died_reason));
        const auto wait = std::min<clock::duration>({waits.next(std::uniform_real_distribution<double>(0, 1)(random)),
                                                     deadline - now, std::chrono::seconds(1)});
        log(log_level::debug, "comfyui.reconnecting", {{"reason", e.what()}});
        std::this_thread::sleep_for(wait);
      }
    }
  }

  // ---- collecting --------------------------------------------------------------------------

  // Reads how the prompt ended and keeps its outputs, heartbeating all along: the GPU work is
  // done, and a lease lost to a slow download would throw it away.
  run_result collect() {
    socket_.reset();
    const lease_keeper keeper(c_.store, lease_.job_id, lease_.token, c_.options.heartbeat_interval);
    prompt_record record = recovered_ ? std::move(*recovered_) : after_run([&] { return c_.comfyui.history(prompt_id_); });
    if (!record.found) end(run_end::failed_retryable, std::string(comfyui_died_reason));
    if (record.end == prompt_end::failed) end(run_end::failed, record.error);
    if (record.end == prompt_end::interrupted) {
      end(run_end::failed, "ComfyUI interrupted the job (" + record.error + "), though comfyq did not ask it to");
    }
    begin_attempt();
    run_result result;
    for (const artifact& file : record.outputs) {
      if (file.type != "output") continue;  // previews (temp) are not outputs
      std::optional<artifact_origin> origin = attribute_to_this_attempt(file);
      if (!origin) continue;
      std::optional<downloaded_file> kept = fetch(file, with_files([&] { return c_.outputs.staging_path(*origin); }));
      if (!kept) {
        end(run_end::failed_retryable, "output '" + comfyq::detail::artifact_path(file) + "' of node " + file.node +
                                           " is missing from ComfyUI's output folder");
      }
      if (std::optional<std::string> why = keeper.lost()) end(run_end::lease_lost, *why);
      with_files([&] { c_.outputs.keep_output(*origin); });
      result.outputs.push_back(make_manifest_entry(*origin, file, kept->size, std::move(kept->sha256)));
    }
    if (std::optional<std::string> why = keeper.lost()) end(run_end::lease_lost, *why);
    with_files([&] { c_.outputs.write_manifest(lease_.tenant, lease_.job_id, lease_.attempt, result.outputs); });
    log(log_level::info, "job.collected", {{"outputs", result.outputs.size()}});
    return result;
  }

  // An attempt's folder is written once: one that exists holds another run's files (a job of
  // another queue under the same id), which are never overwritten. The next attempt gets a
  // folder of its own.
  void begin_attempt() {
    with_files([&] { c_.outputs.begin_attempt(lease_.tenant, lease_.job_id, lease_.attempt); });
  }

  // A call to the tenants' files. One that fails (a full disk, a files server that stays out of
  // reach) ends the run as a retryable failure: the job runs again, its outputs never half kept,
  // since its manifest and completion come last. A files server that says the job runs another
  // attempt now means the lease is lost.
  template <class Call>
  auto with_files(Call call) -> decltype(call()) {
    try {
      return call();
    } catch (const lease_lost& e) {
      end(run_end::lease_lost, e.what());
    } catch (const std::exception& e) {
      end(run_end::failed_retryable, std::string("the tenants' files: ") + e.what());
    }
  }

  // A file of another job or attempt (a custom node that saves elsewhere, an old file a cache
  // re-announced) is never claimed; the operator learns of it.
  std::optional<artifact_origin> attribute_to_this_attempt(const artifact& file) const {
    try {
      return attribute_to(file, lease_.tenant, lease_.job_id, lease_.attempt);
    } catch (const invalid_input& e) {
      log(log_level::warning, "output.not_attributed", {{"node", file.node}, {"reason", e.what()}});
      return std::nullopt;
    }
  }

  // Streams the file to `destination` (from /view, or the shared output folder), measuring it.
  // A file above the client's max_download_bytes fails the job: it would be refused every time.
  std::optional<downloaded_file> fetch(const artifact& file, const std::filesystem::path& destination) {
    try {
      if (c_.options.comfyui_output_dir.empty()) return after_run([&] { return c_.comfyui.download(file, destination); });
      return detail::measured_copy(std::filesystem::path(c_.options.comfyui_output_dir) / comfyq::detail::artifact_path(file),
                                   destination);
    } catch (const invalid_input& e) {
      end(run_end::failed, e.what());
    }
  }


  run_context c_;
  comfyq::lease lease_;
  std::string prompt_id_;
  prompt_follower follower_;
  std::optional<ws_client> socket_{};
  std::optional<prompt_record> recovered_{};  // the outcome read from /history after a reconnect
  clock::time_point started_{};
  clock::time_point next_heartbeat_{};
  std::optional<clock::time_point> drain_deadline_{};
  bool stopping_ = false;
};

}  // namespace comfyq::comfyui
