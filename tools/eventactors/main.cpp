// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// The eventactors command-line tool; see docs/cli.md.

#include "eventactors/cli.hpp"

int main(int argc, char** argv) {
  return eventactors::cli::run(argc, argv);
}
