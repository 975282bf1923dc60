// fleet — the operator's command line with fleet's own event types. Usage errors and failures are
// one line on stderr: exit 2 for bad usage, 1 for a failed operation. An application's own
// operator command is the same run() with its event types and commands (fleet/cli/application.hpp).
#include "fleet/cli/application.hpp"

int main(int argc, char** argv) {
  return fleet::cli::run(fleet::cli::Application{}, argc, argv);
}
