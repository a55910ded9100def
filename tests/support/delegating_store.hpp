#pragma once
// A store::contract that hands every call to another store; a test derives from it and
// overrides the calls it makes misbehave (a store that fails after applying a call, say).

#include <limits>
#include <memory>
#include <utility>

#include "comfyq/store/contract.hpp"

namespace comfyq::testing {

class delegating_store : public store::contract {
 public:
  explicit delegating_store(std::unique_ptr<store::contract> inner) : inner_(std::move(inner)) {}

  store::contract& inner() noexcept { return *inner_; }

  void set_tenant(const tenant_config& tenant) override { inner_->set_tenant(tenant); }
  std::optional<tenant_config> find_tenant(std::string_view id) override { return inner_->find_tenant(id); }
  void pause_tenant(std::string_view id) override { inner_->pause_tenant(id); }
  void resume_tenant(std::string_view id) override { inner_->resume_tenant(id); }
  void pause_queue() override { inner_->pause_queue(); }
  void resume_queue() override { inner_->resume_queue(); }
  void set_policy(policy p) override { inner_->set_policy(p); }
  void set_preemption(bool on) override { inner_->set_preemption(on); }
  queue_ttls ttls() override { return inner_->ttls(); }
  std::string submit(submit_request request) override { return inner_->submit(std::move(request)); }
  std::vector<std::string> submit_many(std::vector<submit_request> requests) override {
    return inner_->submit_many(std::move(requests));
  }
  std::optional<comfyq::lease> lease(std::string_view worker) override { return inner_->lease(worker); }
  std::optional<comfyq::lease> wait_for_lease(std::string_view worker, duration timeout) override {
    return inner_->wait_for_lease(worker, timeout);
  }
  lease_status heartbeat(std::string_view id, std::uint64_t token) override { return inner_->heartbeat(id, token); }
  lease_status wait_for_stop_request(std::string_view id, std::uint64_t token, duration timeout) override {
    return inner_->wait_for_stop_request(id, token, timeout);
  }
  std::optional<comfyq::lease> held_lease(std::string_view worker) override { return inner_->held_lease(worker); }
  void report_progress(std::string_view id, std::uint64_t token, const nlohmann::json& data) override {
    inner_->report_progress(id, token, data);
  }
  void complete(std::string_view id, std::uint64_t token, std::vector<manifest_entry> outputs) override {
    inner_->complete(id, token, std::move(outputs));
  }
  std::optional<comfyq::lease> complete_and_lease(std::string_view id, std::uint64_t token,
                                                  std::vector<manifest_entry> outputs, std::string_view worker) override {
    return inner_->complete_and_lease(id, token, std::move(outputs), worker);
  }
  void fail(std::string_view id, std::uint64_t token, std::string_view reason, failure kind) override {
    inner_->fail(id, token, reason, kind);
  }
  void release(std::string_view id, std::uint64_t token) override { inner_->release(id, token); }
  job_state cancel(std::string_view id) override { return inner_->cancel(id); }
  void set_priority(std::string_view id, bool priority) override { inner_->set_priority(id, priority); }
  void retry(std::string_view id) override { inner_->retry(id); }
  std::size_t expire() override { return inner_->expire(); }
  void touch_worker(std::string_view worker) override { inner_->touch_worker(worker); }
  void register_worker(const worker_info& worker) override { inner_->register_worker(worker); }
  bool remove_worker(std::string_view worker) override { return inner_->remove_worker(worker); }
  void drain_worker(std::string_view worker) override { inner_->drain_worker(worker); }
  void resume_worker(std::string_view worker) override { inner_->resume_worker(worker); }
  void put_object_info(std::string_view sha256, std::string_view document) override {
    inner_->put_object_info(sha256, document);
  }
  std::optional<std::string> object_info(std::string_view sha256) override { return inner_->object_info(sha256); }
  std::optional<job> find(std::string_view id) override { return inner_->find(id); }
  job_page list_jobs(const job_query& q) override { return inner_->list_jobs(q); }
  std::optional<queue_position> position(std::string_view id) override { return inner_->position(id); }
  std::vector<queue_position> forecast(std::size_t workers = 0,
                                       std::size_t limit = std::numeric_limits<std::size_t>::max()) override {
    return inner_->forecast(workers, limit);
  }
  queue_snapshot snapshot() override { return inner_->snapshot(); }
  std::vector<store::logged_event> read_events(std::string_view after, std::size_t max, duration wait) override {
    return inner_->read_events(after, max, wait);
  }
  std::string last_event_id() override { return inner_->last_event_id(); }

 private:
  std::unique_ptr<store::contract> inner_;
};

}  // namespace comfyq::testing
