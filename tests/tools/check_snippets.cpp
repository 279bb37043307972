// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

// Checks that code snippets in the docs come from code that compiles.
//
// A Markdown file marks a snippet with a comment line right before a fenced
// code block:
//
//   <!-- snippet: examples/quickstart/main.cpp#definitions -->
//   ```cpp
//   ...
//   ```
//
// The block must equal the lines between `--(rst-definitions-begin)--` and
// `--(rst-definitions-end)--` in that file (paths relative to the source
// directory), indentation included.
//
// Usage: check_snippets SOURCE_DIR

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line))
    lines.push_back(line);
  return lines;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: check_snippets SOURCE_DIR\n";
    return 2;
  }
  fs::path root{argv[1]};
  std::vector<fs::path> docs{root / "README.md"};
  for (auto& entry : fs::directory_iterator(root / "docs"))
    if (entry.path().extension() == ".md")
      docs.push_back(entry.path());
  const std::regex marker{R"(^<!-- snippet: ([^#]+)#([A-Za-z0-9_-]+) -->$)"};
  int checked = 0;
  int failed = 0;
  for (auto& doc : docs) {
    auto lines = read_lines(doc);
    bool readme = doc.filename() == "README.md";
    for (size_t i = 0; i < lines.size(); ++i) {
      std::smatch m;
      // Every C++ block in docs/ comes from a compiled source (README.md's
      // example is compiled as a whole by the readme_taste test).
      if (!readme && lines[i] == "```cpp"
          && (i == 0 || !std::regex_match(lines[i - 1], marker))) {
        std::cerr << doc << ":" << i + 1
                  << ": a C++ block without a snippet marker\n";
        ++failed;
        continue;
      }
      if (!std::regex_match(lines[i], m, marker))
        continue;
      auto src = m[1].str();
      auto name = m[2].str();
      if (i + 1 >= lines.size() || lines[i + 1].rfind("```", 0) != 0) {
        std::cerr << doc << ":" << i + 1
                  << ": a snippet marker must precede a code block\n";
        ++failed;
        continue;
      }
      std::vector<std::string> block;
      size_t j = i + 2;
      for (; j < lines.size() && lines[j].rfind("```", 0) != 0; ++j)
        block.push_back(lines[j]);
      auto source = read_lines(root / src);
      if (source.empty()) {
        std::cerr << doc << ":" << i + 1 << ": cannot read " << src << "\n";
        ++failed;
        continue;
      }
      auto begin = "--(rst-" + name + "-begin)--";
      auto end = "--(rst-" + name + "-end)--";
      std::vector<std::string> region;
      bool inside = false;
      bool found = false;
      for (auto& l : source) {
        if (l.find(end) != std::string::npos)
          inside = false;
        if (inside)
          region.push_back(l);
        if (l.find(begin) != std::string::npos)
          inside = found = true;
      }
      ++checked;
      if (!found) {
        std::cerr << doc << ":" << i + 1 << ": no region '" << name
                  << "' in " << src << "\n";
        ++failed;
      } else if (region != block) {
        std::cerr << doc << ":" << i + 1 << ": the snippet " << src << "#"
                  << name
                  << " differs from its source; copy the region between "
                     "the markers again\n";
        ++failed;
      }
      i = j;
    }
  }
  std::cout << checked << " doc snippet(s) checked, " << failed
            << " failed\n";
  return failed == 0 ? 0 : 1;
}
