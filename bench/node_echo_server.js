// Node's tls echo server for the epoll benchmarks (issue 11): the baseline
// the Node.js seeds describe. usage:
//   node node_echo_server.js --cert chain.pem --key key.pem --port P [--workers N]
// With --workers > 1 it runs a cluster (the primary hands connections to N
// worker processes). Prints "port P" once every worker listens; SIGTERM ends it.
'use strict';
const cluster = require('cluster');
const fs = require('fs');
const tls = require('tls');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const workers = Number(args.workers || 1);
const port = Number(args.port || 0);

function serve(onListening) {
  const server = tls.createServer({
    cert: fs.readFileSync(args.cert),
    key: fs.readFileSync(args.key),
  }, (socket) => {
    socket.on('error', () => {});
    socket.setNoDelay(true);  // as nginx (tcp_nodelay on) and sanstls do
    socket.pipe(socket);
  });
  server.on('tlsClientError', () => {});
  server.listen(port, '127.0.0.1', () => onListening(server.address().port));
}

if (workers <= 1) {
  serve((p) => console.log(`port ${p}`));
  process.on('SIGTERM', () => process.exit(0));
} else if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('listening', (worker, address) => {
    if (++listening === workers) console.log(`port ${address.port}`);
  });
  process.on('SIGTERM', () => {
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  serve(() => {});
  process.on('SIGTERM', () => process.exit(0));
}
