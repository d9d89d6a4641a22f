# The cost benchmark's workerd baseline (test/bench/cost.ts): one worker serving the same trivial
# function as examples/functions/hello.js. The benchmark overrides the socket address with
# --socket-addr http=127.0.0.1:<port>.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .hello) ],
  sockets = [ (name = "http", address = "127.0.0.1:8080", http = (), service = "main") ]
);

const hello :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "workerd-hello.js") ],
  compatibilityDate = "2024-09-23"
);
