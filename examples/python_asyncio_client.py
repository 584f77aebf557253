#!/usr/bin/env python3
"""sanstls from Python's asyncio: an HTTPS-ish request over a real socket.

The module does no I/O: an asyncio.Protocol hands it the bytes the socket
received (receive_data), sends what it produced (data_to_send) and reacts to
its events (next_event), like h11 over a transport.

    PYTHONPATH=build/python python3 examples/python_asyncio_client.py HOST PORT --ca CA.pem
"""
import argparse
import asyncio

import sanstls


class TLSClientProtocol(asyncio.Protocol):
    """Sends `request` once the handshake completes; collects the answer
    until the server's close_notify (or the transport's end)."""

    def __init__(self, config, server_name, request):
        self.tls = sanstls.Connection.client(config, server_name)
        self.request = request
        self.response = bytearray()
        self.done = asyncio.get_running_loop().create_future()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self._flush()  # the ClientHello

    def data_received(self, data):
        self._step(data)

    def eof_received(self):
        self._step(b"")  # b"": the transport ended (truncation unless after close_notify)
        return False

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("connection lost before close_notify"))

    def _step(self, data):
        try:
            self.tls.receive_data(data)
            while (event := self.tls.next_event()) is not None:
                if isinstance(event, sanstls.HandshakeComplete):
                    self.tls.send_data(self.request)
                elif isinstance(event, sanstls.DataReceived):
                    self.response += event.data
                elif isinstance(event, sanstls.PeerClosed):
                    self.tls.close()
                    if not self.done.done():
                        self.done.set_result(bytes(self.response))
        except sanstls.TLSError as error:
            if not self.done.done():
                self.done.set_exception(error)
        self._flush()
        if self.done.done():
            self.transport.close()

    def _flush(self):
        out = self.tls.data_to_send()  # includes a fatal alert after an error
        if out:
            self.transport.write(out)


async def fetch(host, port, config, server_name, request, timeout=10.0):
    """Connects, sends `request` over TLS and returns the response bytes;
    raises sanstls.TLSError on a TLS failure."""
    loop = asyncio.get_running_loop()
    transport, protocol = await asyncio.wait_for(
        loop.create_connection(lambda: TLSClientProtocol(config, server_name, request), host, port),
        timeout)
    try:
        return await asyncio.wait_for(protocol.done, timeout), protocol.tls
    finally:
        transport.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--ca", help="CA bundle (PEM); default: the system's")
    parser.add_argument("--name", help="server name (default: host)")
    args = parser.parse_args()
    ca = open(args.ca, "rb").read() if args.ca else None
    config = sanstls.client_config(ca_pem=ca)
    request = b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % (args.name or args.host).encode()
    response, tls = asyncio.run(fetch(args.host, args.port, config, args.name or args.host, request))
    print("%s %s, %d bytes" % (tls.protocol, tls.cipher, len(response)))
    print(response.decode(errors="replace"))


if __name__ == "__main__":
    main()
