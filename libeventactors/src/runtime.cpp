// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "eventactors/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/settings.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/json/serialize.hpp>

#include "base/crypto.hpp"
#include "actors/dispatcher.hpp"
#include "actors/event_log_actor.hpp"
#include "actors/replay_coordinator.hpp"
#include "actors/resource_actor.hpp"
#include "actors/service.hpp"
#include "detail/log.hpp"
#include "engine/append.hpp"
#include "engine/executor.hpp"
#include "engine/limits.hpp"
#include "eventactors/action_actor.hpp"
#include "eventactors/error.hpp"
#include "eventactors/init.hpp"
#include "model/model.hpp"
#include "storage/codec.hpp"
#include "storage/reader_pool.hpp"
#include "storage/storage.hpp"
#include "write/pipeline.hpp"

namespace eventactors {

namespace {

caf::error stopped_error() {
  return make_error(errc::runtime_stopped, "the runtime was stopped");
}

} // namespace

struct runtime::impl {
  runtime_options opts;
  std::shared_ptr<const model> m;
  std::unique_ptr<caf::actor_system_config> own_cfg;
  std::unique_ptr<caf::actor_system> own_sys;
  caf::actor_system* sys = nullptr;
  event_log_actor log;
  /// The one way to the writer, shared by synchronous callers, the resource
  /// actors, the event log actor and the replay coordinator (none in a
  /// read-only runtime).
  std::shared_ptr<write_pipeline> pipeline;
  std::map<std::string, resource_actor, std::less<>> resources;
  action_actor dispatcher;
  replay_actor coordinator;
  std::unique_ptr<reader_pool> readers;
  /// Synchronous calls waiting for a result; failed when the runtime stops.
  std::mutex slots_mtx;
  std::set<slot_base*> slots;
  bool stopped = false;
  /// Synchronous calls running on their callers' threads (run, append);
  /// `stop` waits for them, since they use the readers and the writer.
  size_t calls_on_callers = 0;
  std::condition_variable calls_done;
  /// Shared with the dispatcher, which outlives `stop` to answer late calls.
  std::shared_ptr<std::atomic<bool>> dispatcher_stopped
    = std::make_shared<std::atomic<bool>>(false);
  /// Behind `service_of(rt)`: started on first use.
  std::mutex service_mtx;
  service_actors service;
  bool service_closed = false;

  ~impl() {
    stop();
  }

  /// Registers a waiting call; false once stopped.
  bool enter(slot_base* slot) {
    std::lock_guard<std::mutex> guard{slots_mtx};
    if (stopped)
      return false;
    slots.insert(slot);
    return true;
  }

  void leave(slot_base* slot) {
    std::lock_guard<std::mutex> guard{slots_mtx};
    slots.erase(slot);
  }

  /// Counts a call running on its caller's thread for the scope of the
  /// guard; false once stopped.
  class caller_call {
  public:
    explicit caller_call(impl& d) : d_(d) {
      std::lock_guard<std::mutex> guard{d_.slots_mtx};
      entered_ = !d_.stopped;
      if (entered_)
        ++d_.calls_on_callers;
    }

    ~caller_call() {
      if (!entered_)
        return;
      std::lock_guard<std::mutex> guard{d_.slots_mtx};
      if (--d_.calls_on_callers == 0)
        d_.calls_done.notify_all();
    }

    explicit operator bool() const noexcept {
      return entered_;
    }

    caller_call(const caller_call&) = delete;
    caller_call& operator=(const caller_call&) = delete;

  private:
    impl& d_;
    bool entered_;
  };

  /// Registers a waiting call for the scope of the guard.
  class waiting {
  public:
    waiting(impl& d, slot_base* slot) : d_(d), slot_(slot) {
      entered_ = d_.enter(slot_);
    }

    ~waiting() {
      if (entered_)
        d_.leave(slot_);
    }

    explicit operator bool() const noexcept {
      return entered_;
    }

    waiting(const waiting&) = delete;
    waiting& operator=(const waiting&) = delete;

  private:
    impl& d_;
    slot_base* slot_;
    bool entered_;
  };

  void stop() {
    {
      std::lock_guard<std::mutex> guard{slots_mtx};
      if (stopped)
        return;
      stopped = true;
    }
    if (!sys)
      return;
    // Resource actors first (their in-flight units still reach the log),
    // then the log, which commits what it accepted before it exits.
    *dispatcher_stopped = true;
    caf::scoped_actor self{*sys};
    {
      // The service's workers call the runtime: they finish what they
      // run, then exit, before anything they use goes away.
      std::lock_guard<std::mutex> guard{service_mtx};
      service_closed = true;
      if (service.front) {
        self->send_exit(service.front, caf::exit_reason::user_shutdown);
        self->wait_for(service.front);
      }
      for (auto& worker : service.workers)
        self->send_exit(worker, caf::exit_reason::user_shutdown);
      for (auto& worker : service.workers)
        self->wait_for(worker);
      service.workers.clear();
    }
    if (coordinator) {
      self->send_exit(coordinator, caf::exit_reason::user_shutdown);
      self->wait_for(coordinator);
    }
    for (auto& [name, hdl] : resources)
      self->send_exit(hdl, caf::exit_reason::user_shutdown);
    for (auto& [name, hdl] : resources)
      self->wait_for(hdl);
    {
      // Calls whose message reached a resource actor only after it quit
      // get no answer from it; then synchronous calls under way finish
      // (they still commit); new ones fail with runtime_stopped.
      std::unique_lock<std::mutex> guard{slots_mtx};
      for (auto slot : slots)
        slot->fail(make_error(errc::runtime_stopped, "the runtime stopped"));
      calls_done.wait(guard, [this] { return calls_on_callers == 0; });
    }
    // Close the idle read connections before the writer: the last
    // connection to close checkpoints the WAL and removes it, which a
    // read-only one cannot do.
    readers->close_idle();
    if (log) {
      self->send_exit(log, caf::exit_reason::user_shutdown);
      self->wait_for(log);
    }
    // The writer's connection closes last; synchronous calls after this
    // point fail with runtime_stopped.
    if (pipeline)
      pipeline->close();
    // Calls whose message reached an actor only after it quit.
    std::lock_guard<std::mutex> guard{slots_mtx};
    for (auto slot : slots)
      slot->fail(make_error(errc::runtime_stopped, "the runtime stopped"));
  }

  const resource_info* find(std::string_view name) const {
    return m->find(name);
  }
};

runtime::runtime(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

runtime::~runtime() {
  if (!impl_)
    return;
  impl_->stop();
  if (impl_->dispatcher && impl_->sys) {
    caf::scoped_actor self{*impl_->sys};
    self->send_exit(impl_->dispatcher, caf::exit_reason::user_shutdown);
    self->wait_for(impl_->dispatcher);
  }
  // Detached actors' threads end only once no handle refers to them.
  impl_->resources.clear();
  impl_->dispatcher = nullptr;
  impl_->coordinator = nullptr;
  impl_->log = nullptr;
  impl_->own_sys.reset();
}

void runtime::stop() {
  impl_->stop();
}

namespace {

/// Start-up fails on a file more often than on the definitions: the error
/// says which file, keeping its code.
caf::error naming_file(caf::error err, const std::string& path) {
  auto msg = message(err);
  if (msg.find(path) != std::string::npos)
    return err;
  for (auto code : {errc::storage_failure, errc::schema_mismatch,
                    errc::invalid_definition, errc::decryption_failed})
    if (is(err, code))
      return make_error(code, "database " + path + ": " + msg,
                        field_errors(err));
  return err;
}

} // namespace

caf::expected<std::unique_ptr<runtime>> runtime::start(app definitions,
                                                       runtime_options opts) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  init(*cfg);
  // CAF starts 4 workers by default even on 2 cores; the heavy lifting of
  // a runtime happens in its detached actors anyway.
  auto threads = opts.threads != 0 ? opts.threads : 2u;
  cfg->set("scheduler.max-threads", static_cast<size_t>(threads));
  // Work sharing: idle workers sleep on a condition variable. The default
  // work stealing polls while idle, which takes CPU time from the detached
  // actors on a small machine (about 8% of an action at 64 callers on 2
  // cores, see docs/performance.md).
  cfg->set("scheduler.policy", caf::atom("sharing"));
  cfg->set("logger.verbosity", caf::atom("quiet"));
  auto sys = std::make_unique<caf::actor_system>(*cfg);
  auto rt = start(*sys, std::move(definitions), std::move(opts));
  if (!rt)
    return rt;
  (*rt)->impl_->own_cfg = std::move(cfg);
  (*rt)->impl_->own_sys = std::move(sys);
  return rt;
}

caf::expected<std::unique_ptr<runtime>>
runtime::start_read_only(caf::actor_system& sys, std::unique_ptr<impl> ptr) {
  auto& path = ptr->opts.path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return make_error(errc::not_found,
                      "no database at " + path
                        + " (a read-only runtime creates none)");
  auto copts = storage::connection_options(ptr->opts);
  // Readers only: no writer, no write queue, no checkpoints, no resource
  // or event log actors. The schema is checked, never migrated.
  if (auto err = storage::check_schema(*ptr->m, path, copts))
    return naming_file(std::move(err), path);
  ptr->sys = &sys;
  ptr->coordinator = spawn_replay_coordinator(sys, ptr->m, &ptr->opts,
                                              nullptr, event_log_actor{});
  ptr->dispatcher = spawn_dispatcher(sys, ptr->resources,
                              ptr->dispatcher_stopped, true);
  ptr->readers = std::make_unique<reader_pool>(ptr->m, path, copts);
  SPDLOG_LOGGER_INFO(&detail::log(), "runtime started read-only path={}",
                     path);
  return std::unique_ptr<runtime>{new runtime(std::move(ptr))};
}

caf::expected<std::unique_ptr<runtime>>
runtime::start(caf::actor_system& sys, app definitions, runtime_options opts) {
  if (!opts.env.clock || !opts.env.uuid_v4 || !opts.env.uuid_v7)
    return make_error(errc::invalid_definition,
                      "runtime_options.env: clock and id generators must be "
                      "set");
  if (opts.path.empty())
    return make_error(errc::invalid_definition,
                      "runtime_options.path must not be empty");
  if (opts.max_hook_depth > hook_depth_limit)
    return make_error(errc::invalid_definition,
                      "runtime_options.max_hook_depth must be at most "
                        + std::to_string(hook_depth_limit) + ", got "
                        + std::to_string(opts.max_hook_depth));
  auto m = model::build(std::move(definitions));
  if (!m)
    return std::move(m.error());
  // An encrypted log whose current key is unavailable could accept no
  // write: refuse to start rather than fail every action later.
  for (auto& log : (*m)->definitions().logs()) {
    if (!log.keys())
      continue;
    auto id = log.keys()->current_key_id();
    if (!id)
      return make_error(errc::invalid_definition,
                        "event_log " + log.name() + ": "
                          + message(id.error()));
    // Checked here too for providers other than the built-in ones.
    if (auto why = crypto::key_id_problem(*id))
      return make_error(errc::invalid_definition,
                        "event_log " + log.name() + ": the current key id \""
                          + *id + "\" of the " + log.keys()->describe() + " "
                          + *why);
    if (auto k = log.keys()->key(*id); !k)
      return make_error(errc::invalid_definition,
                        "event_log " + log.name() + ": "
                          + message(k.error()));
  }
  auto ptr = std::make_unique<impl>();
  ptr->opts = std::move(opts);
  ptr->m = std::move(*m);
  auto copts = storage::connection_options(ptr->opts);
  auto& path = ptr->opts.path;
  if (ptr->opts.read_only)
    return start_read_only(sys, std::move(ptr));
  // The writer refuses another program's database untouched and migrates
  // ours; failures (a corrupt file, a newer format, a read-only file) stop
  // the start here. Only this writer checkpoints in the background.
  auto wopts = copts;
  wopts.checkpoint_pages = ptr->opts.checkpoint_pages;
  auto w = storage::open_writer(ptr->m, path, wopts, ptr->opts.env);
  if (!w)
    return naming_file(std::move(w.error()), path);
  auto probe = storage::open_reader(ptr->m, path, copts);
  if (!probe)
    return naming_file(std::move(probe.error()), path);
  if (auto err = sync_key_counters(*ptr->m, **probe))
    return naming_file(std::move(err), path);
  std::vector<std::pair<std::string, std::unique_ptr<reader>>> readers;
  for (auto& [name, info] : ptr->m->resources()) {
    auto rd = storage::open_reader(ptr->m, path, copts);
    if (!rd)
      return naming_file(std::move(rd.error()), path);
    readers.emplace_back(name, std::move(*rd));
  }
  ptr->sys = &sys;
  auto gate = std::make_shared<replay_gate>();
  auto queue = std::make_unique<write_queue>(std::move(*w), gate,
                                             ptr->opts.max_batch);
  ptr->pipeline = std::make_shared<write_pipeline>(ptr->m, &ptr->opts,
                                                   std::move(queue),
                                                   std::move(gate));
  ptr->log = spawn_event_log(sys, &ptr->opts, ptr->pipeline);
  for (auto& [name, rd] : readers)
    ptr->resources.emplace(name, spawn_resource_actor(sys, ptr->m, &ptr->opts,
                                                      std::move(rd), ptr->log,
                                                      ptr->pipeline));
  ptr->coordinator = spawn_replay_coordinator(sys, ptr->m, &ptr->opts,
                                              ptr->pipeline, ptr->log);
  ptr->dispatcher = spawn_dispatcher(sys, ptr->resources,
                             ptr->dispatcher_stopped, false);
  ptr->readers = std::make_unique<reader_pool>(ptr->m, ptr->opts.path,
                                               copts);
  SPDLOG_LOGGER_INFO(&detail::log(), "runtime started path={} resources={}",
                     ptr->opts.path, ptr->resources.size());
  return std::unique_ptr<runtime>{new runtime(std::move(ptr))};
}

caf::expected<record> runtime::run(call c) {
  // The action runs on the calling thread, with a read connection of the
  // pool, and commits through the write queue: with no other writer
  // active, this thread commits itself. Handing the call to another thread
  // and back would cost about as much as the commit (see
  // docs/performance.md).
  auto& d = *impl_;
  if (!d.find(c.resource))
    return make_error(errc::unknown_resource,
                      "no resource \"" + c.resource + "\"");
  if (d.opts.read_only)
    return read_only_error(c.resource + "." + c.action);
  impl::caller_call guard{d};
  if (!guard)
    return stopped_error();
  auto deadline = std::chrono::steady_clock::now() + d.opts.call_timeout;
  auto timed_out = [&] {
    return make_error(errc::timeout,
                      "no commit within "
                        + std::to_string(d.opts.call_timeout.count())
                        + " ms (call_timeout); nothing was written");
  };
  // The write pipeline takes the record's turn (shared with the resource
  // actor's calls on it), commits and retries.
  auto result = d.readers->with([&](reader& rd) -> caf::expected<record> {
    executor ex;
    ex.defs = d.m;
    ex.options = &d.opts;
    ex.db = &rd;
    return d.pipeline->call(ex, c, deadline);
  });
  if (!result && is(result.error(), errc::timeout))
    return timed_out();
  return result;
}

caf::expected<record> runtime::run(std::string resource, std::string action,
                                   json::object input) {
  call c;
  c.resource = std::move(resource);
  c.action = std::move(action);
  c.input = std::move(input);
  return run(std::move(c));
}

std::vector<caf::expected<record>> runtime::run_batch(batch_call c) {
  auto& d = *impl_;
  auto n = c.items.size();
  auto fail = [n](caf::error err) {
    return std::vector<caf::expected<record>>(n, caf::expected<record>{err});
  };
  if (d.opts.read_only && d.find(c.resource))
    return fail(read_only_error(c.resource + "." + c.action));
  auto i = d.resources.find(c.resource);
  if (i == d.resources.end())
    return fail(make_error(errc::unknown_resource,
                           "no resource \"" + c.resource + "\""));
  auto slot = std::make_shared<sync_slot<caf::expected<batch_result>>>();
  impl::waiting guard{d, slot.get()};
  if (!guard)
    return fail(stopped_error());
  caf::anon_send(i->second, run_batch_atom_v, std::move(c), slot);
  auto waited = slot->wait(d.opts.call_timeout);
  if (!waited)
    return fail(make_error(errc::timeout,
                           "no result within the call_timeout; the batch "
                           "may still commit"));
  if (!*waited)
    return fail(std::move(waited->error()));
  auto result = &**waited;
  std::vector<caf::expected<record>> out;
  out.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    if (k < result->errors.size() && result->errors[k])
      out.emplace_back(result->errors[k]);
    else if (k < result->records.size())
      out.emplace_back(std::move(result->records[k]));
    else
      out.emplace_back(make_error(errc::storage_failure, "missing result"));
  }
  return out;
}

namespace {

/// Sends a request to the replay coordinator from a blocking actor and
/// waits for the reply, passing progress messages to `progress`.
template <class T, class... Ts>
caf::expected<T> ask_coordinator(caf::actor_system& sys,
                                 const replay_actor& coordinator,
                                 const runtime::progress_fn& progress,
                                 Ts&&... xs) {
  caf::scoped_actor self{sys};
  self->send(coordinator, std::forward<Ts>(xs)...);
  std::optional<caf::expected<T>> result;
  self->receive_while([&] { return !result; })(
    [&](replay_atom, const replay_progress& p) {
      if (progress)
        progress(p);
    },
    [&](T& x) { result = std::move(x); },
    [&](caf::error& err) { result = std::move(err); });
  return std::move(*result);
}

} // namespace

caf::expected<replay_summary> runtime::replay(replay_request req,
                                              const progress_fn& progress) {
  auto& d = *impl_;
  if (d.stopped)
    return stopped_error();
  if (d.opts.read_only)
    return read_only_error("replay");
  return ask_coordinator<replay_summary>(*d.sys, d.coordinator, progress,
                                         replay_atom_v, std::move(req));
}

caf::expected<replay_summary> runtime::fork(replay_request req,
                                            std::string path,
                                            const progress_fn& progress) {
  auto& d = *impl_;
  if (d.stopped)
    return stopped_error();
  return ask_coordinator<replay_summary>(*d.sys, d.coordinator, progress,
                                         fork_atom_v, std::move(req),
                                         std::move(path));
}

caf::expected<verify_report> runtime::verify(std::string log,
                                             uint32_t max_differences,
                                             const progress_fn& progress) {
  auto& d = *impl_;
  if (d.stopped)
    return stopped_error();
  return ask_coordinator<verify_report>(*d.sys, d.coordinator, progress,
                                        verify_atom_v, std::move(log),
                                        max_differences);
}

caf::expected<json::value> runtime::append(new_event ev) {
  auto& d = *impl_;
  if (d.opts.read_only)
    return read_only_error("append");
  impl::caller_call guard{d};
  if (!guard)
    return stopped_error();
  auto u = append_unit(*d.m, d.opts, std::move(ev));
  if (!u)
    return std::move(u.error());
  // The epoch before the gate: a replay starting in between refuses the
  // unit when it is written.
  u->epoch = d.pipeline->gate().epoch();
  if (auto err = d.pipeline->gate().admit("append"))
    return err;
  auto receipt = d.pipeline->commit(*u, std::chrono::steady_clock::now()
                                          + d.opts.call_timeout);
  if (!receipt)
    return std::move(receipt.error());
  return receipt->event_ids.empty() ? json::value{}
                                    : receipt->event_ids.front();
}

caf::expected<record> runtime::get(std::string_view resource,
                                   const json::value& id) {
  auto res = impl_->find(resource);
  if (!res)
    return make_error(errc::unknown_resource,
                      "no resource \"" + std::string{resource} + "\"");
  auto pk = res->def->find_attribute(res->def->primary_key());
  json::value key;
  if (auto err = pk->type.cast(id, key))
    return make_error(errc::invalid_input,
                      res->def->name() + ": id: " + *err);
  return impl_->readers->with([&](reader& rd) -> caf::expected<record> {
    auto row = rd.get(*res, key);
    if (!row)
      return std::move(row.error());
    if (!*row)
      return make_error(errc::not_found,
                        res->def->name() + ": no record with "
                          + res->def->primary_key() + " "
                          + json::serialize(key));
    return reader::to_record(*res, std::move(**row));
  });
}

caf::expected<std::vector<record>> runtime::list(std::string_view resource,
                                                 list_options opts) {
  auto res = impl_->find(resource);
  if (!res)
    return make_error(errc::unknown_resource,
                      "no resource \"" + std::string{resource} + "\"");
  auto limit = std::clamp<uint32_t>(opts.limit, 1, 100000);
  return impl_->readers->with(
    [&](reader& rd) -> caf::expected<std::vector<record>> {
      auto rows = rd.list(*res, opts.offset, limit);
      if (!rows)
        return std::move(rows.error());
      std::vector<record> result;
      result.reserve(rows->size());
      for (auto& row : *rows)
        result.push_back(reader::to_record(*res, std::move(row)));
      return result;
    });
}

caf::expected<event_page> runtime::events(const event_filter& filter) {
  auto log = impl_->m->find_log(filter.log);
  if (!log)
    return make_error(errc::invalid_input,
                      filter.log.empty() ? std::string{"no event log defined"}
                                         : "no event log \"" + filter.log
                                             + "\"");
  return impl_->readers->with([&](reader& rd) -> caf::expected<event_page> {
    return rd.events(*log, filter);
  });
}

caf::error runtime::for_each_event(
  event_filter filter, const std::function<bool(const event&)>& fn) {
  filter.limit = 1000;
  // No page to list skipped events in: an unreadable event fails the walk
  // rather than vanish from it.
  filter.skip_unreadable = false;
  for (;;) {
    auto page = events(filter);
    if (!page)
      return std::move(page.error());
    for (auto& ev : page->events)
      if (!fn(ev))
        return {};
    if (page->next_after_id.is_null())
      return {};
    filter.after_id = page->next_after_id;
  }
}

caf::expected<log_stats> runtime::stats(std::string log_name) {
  auto log = impl_->m->find_log(log_name);
  if (!log)
    return make_error(errc::invalid_input,
                      "stats: no event log \"" + log_name + "\"");
  auto result = impl_->readers->with(
    [&](reader& rd) -> caf::expected<log_stats> { return rd.stats(*log); });
  if (!result)
    return result;
  std::error_code ec;
  for (auto suffix : {"", "-wal"}) {
    auto size = std::filesystem::file_size(impl_->opts.path + suffix, ec);
    if (!ec)
      result->file_bytes += size;
  }
  return result;
}

json::object runtime::public_view(const event& ev) const {
  json::object result;
  auto log = impl_->m->find_log(ev.log);
  if (!log)
    return result;
  auto add = [&](const char* field, json::value val) {
    if (log->is_public(field))
      result[field] = std::move(val);
  };
  add("id", ev.id);
  add("resource", json::string{ev.resource});
  add("record_id", ev.record_id);
  add("action", json::string{ev.action});
  add("action_type", json::string{to_string(ev.action_type)});
  add("data", ev.data);
  add("changed_attributes", ev.changed_attributes);
  add("metadata", ev.metadata);
  add("version", ev.version);
  add("occurred_at", json::string{format_timestamp(ev.occurred_at)});
  for (auto& kvp : ev.actors)
    if (log->is_public(kvp.key()))
      result[kvp.key()] = kvp.value();
  return result;
}

const app& runtime::definitions() const noexcept {
  return impl_->m->definitions();
}

const runtime_options& runtime::options() const noexcept {
  return impl_->opts;
}

caf::actor_system& runtime::system() noexcept {
  return *impl_->sys;
}

action_actor actions(runtime& rt) {
  return rt.internals().dispatcher;
}

replay_actor replays(runtime& rt) {
  return rt.internals().coordinator;
}

service_actor runtime::async() {
  return service_of(*this);
}

service_actor service_of(runtime& rt) {
  auto& d = rt.internals();
  std::lock_guard<std::mutex> guard{d.service_mtx};
  if (!d.service.front && !d.service_closed && d.sys) {
    // Two query workers: reads use the reader pool, whose connections
    // suffice for two concurrent readers on a small machine.
    d.service = spawn_service(*d.sys, rt, d.dispatcher, 2);
  }
  return d.service.front;
}

} // namespace eventactors
