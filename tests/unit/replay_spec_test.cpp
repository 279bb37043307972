// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#include "support/spec_app.hpp"

#include <catch2/catch.hpp>

using namespace eventactors;
using namespace eventactors::test;
