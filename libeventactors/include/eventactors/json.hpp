// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace eventactors {

/// Dynamic values (inputs, attribute values, event data, metadata) are
/// Boost.JSON values inside a process.
namespace json = boost::json;

} // namespace eventactors
