// route_proxy PRIMARY_PORT SUBSTITUTE_PORT RHO SEED: runs tests/support's RouteProxy in front of two
// llama-servers on loopback (bench/substitution.sh). Prints its port on the first line of stdout, serves
// until SIGTERM or SIGINT, then prints what each upstream got as one line,
// "completions_to_primary N completions_to_substitute M other_to_primary K", and exits 0.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "support/route_proxy.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: route_proxy PRIMARY_PORT SUBSTITUTE_PORT RHO SEED\n");
    return 2;
  }
  // Blocked before the proxy starts its threads, so they inherit the mask and only sigwait sees the signal.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  try {
    pot::test::RouteProxy proxy(std::stoi(argv[1]), std::stoi(argv[2]), std::stod(argv[3]), std::stoull(argv[4]));
    std::printf("%d\n", proxy.port());
    std::fflush(stdout);
    int signal_number = 0;
    sigwait(&stop, &signal_number);
    const pot::test::RouteCounts c = proxy.counts();
    std::printf("completions_to_primary %d completions_to_substitute %d other_to_primary %d\n", c.completions_to_primary,
                c.completions_to_substitute, c.other_to_primary);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "route_proxy: %s\n", e.what());
    return 2;
  }
  return 0;
}
