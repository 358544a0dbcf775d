"""The load harness's local TCP echo server (asyncio): writes back every line it reads.

    python benches/load/echo_server.py PORT

The "TCP round trip" scenario's handlers await a line through it (apps.py), as a handler
awaits a database or another service. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import sys


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
