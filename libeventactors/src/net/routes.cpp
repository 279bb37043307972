// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "net/routes.hpp"

#include "detail/text.hpp"
#include "eventactors/error.hpp"

namespace eventactors::net {

namespace {

/// Claims `name` for node `i` in `owners`; the error names both nodes.
caf::error claim(std::map<std::string, size_t, std::less<>>& owners,
                 const std::vector<route_node>& nodes, const std::string& kind,
                 const std::string& name, size_t i) {
  auto [pos, added] = owners.emplace(name, i);
  if (added)
    return {};
  return make_error(errc::invalid_definition,
                    "cluster: " + kind + " " + detail::quoted(name)
                      + " is served by two nodes, "
                      + nodes[pos->second].label + " and " + nodes[i].label
                      + "; each " + kind
                      + " must belong to one node of a cluster");
}

} // namespace

caf::expected<routes> routes::make(std::vector<route_node> nodes) {
  if (nodes.empty())
    return make_error(errc::invalid_input, "cluster: no nodes given");
  routes result;
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto& defs = *nodes[i].definitions;
    for (auto& res : defs.resources())
      if (auto err = claim(result.resources_, nodes, "resource", res.name(),
                           i))
        return err;
    for (auto& log : defs.logs())
      if (auto err = claim(result.logs_, nodes, "event log", log.name(), i))
        return err;
    if (!defs.logs().empty())
      result.log_nodes_.push_back(i);
  }
  result.nodes_ = std::move(nodes);
  return result;
}

std::string routes::node_list() const {
  std::string out;
  for (auto& n : nodes_)
    out += (out.empty() ? "" : ", ") + n.label;
  return out;
}

caf::expected<size_t> routes::by_resource(std::string_view resource,
                                          std::string_view what) const {
  if (auto i = resources_.find(resource); i != resources_.end())
    return i->second;
  return make_error(errc::unknown_resource,
                    std::string{what} + ": no resource "
                      + detail::quoted(resource)
                      + " on any node of the cluster (" + node_list() + ")");
}

caf::expected<size_t>
routes::by_log(std::string_view log, const std::optional<std::string>& resource,
               std::string_view what) const {
  if (!log.empty()) {
    if (auto i = logs_.find(log); i != logs_.end())
      return i->second;
    return make_error(errc::invalid_input,
                      std::string{what} + ": no event log "
                        + detail::quoted(log) + " on any node of the cluster ("
                        + node_list() + ")");
  }
  if (resource)
    if (auto i = resources_.find(*resource); i != resources_.end())
      return i->second;
  if (log_nodes_.size() == 1)
    return log_nodes_.front();
  if (log_nodes_.empty())
    return make_error(errc::invalid_input,
                      std::string{what} + ": no node of the cluster ("
                        + node_list() + ") has an event log");
  std::string which;
  for (auto i : log_nodes_) {
    std::string names;
    for (auto& x : nodes_[i].definitions->logs())
      names += (names.empty() ? "" : ", ") + detail::quoted(x.name());
    which += (which.empty() ? "" : "; ") + nodes_[i].label + ": " + names;
  }
  return make_error(errc::invalid_input,
                    std::string{what}
                      + ": name the event log, several nodes of the cluster "
                        "serve event logs ("
                      + which + ")");
}

} // namespace eventactors::net
