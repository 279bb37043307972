// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

namespace eventactors {

class action;
class app;
class attribute_type;
class change;
class changeset;
class event_log;
class events_config;
class hook_context;
class resource;
class node;
class remote_node;
class runtime;
class service;
class validation;
class value_source;

struct actor;
struct batch_call;
struct batch_item;
struct batch_result;
struct call;
struct connect_options;
struct environment;
struct event;
struct event_filter;
struct event_page;
struct field_error;
struct list_options;
struct node_options;
struct record;
struct runtime_options;

enum class errc : unsigned char;

} // namespace eventactors
