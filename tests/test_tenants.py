"""Several associations served by one process, chosen by the Host header (`fedi tenant add`,
`fedi serve --tenants`): each keeps its own site, actor and followers, and they federate with
each other like separate servers."""

from __future__ import annotations

import asyncio
import signal
import sys

import httpx

from fedi_testing import AP_HEADERS, free_port


async def _fedi(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedi", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def _wait_until_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never came up")


async def test_two_tenants_in_one_process_have_their_own_sites_and_federate(tmp_path):
    port = free_port()
    tenants = str(tmp_path / "tenants")
    lyon, nantes = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    for url, name, title in ((lyon, "avf-lyon", "AVF Lyon"), (nantes, "avf-nantes", "AVF Nantes")):
        code, out, err = await _fedi("tenant", "add", "--dir", tenants, "--url", url, "--name", name,
                                     "--title", title, "--allow-private")
        assert code == 0, err
    code, out, _ = await _fedi("tenant", "list", "--dir", tenants)
    assert "@avf-lyon@127.0.0.1" in out and "@avf-nantes@localhost" in out

    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedi", "serve", "--tenants", tenants, "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await _wait_until_up(lyon)
        async with httpx.AsyncClient() as client:
            assert "AVF Lyon" in (await client.get(lyon)).text
            assert "AVF Nantes" in (await client.get(nantes)).text
            unknown = await client.get(lyon, headers={"Host": f"other.example:{port}"})
            assert unknown.status_code == 404
            finger = await client.get(f"{nantes}/.well-known/webfinger",
                                      params={"resource": f"acct:avf-nantes@localhost:{port}"})
            assert finger.json()["subject"] == f"acct:avf-nantes@localhost:{port}"

        # Lyon's association follows Nantes' (the CLI queues it; the server's workers send it)
        code, _, err = await _fedi("follow", "--dir", f"{tenants}/127.0.0.1_{port}", f"{nantes}/users/avf-nantes")
        assert code == 0, err
        code, out, err = await _fedi("post", "--dir", f"{tenants}/localhost_{port}", "--title", "Café",
                                     "Café des nouveaux **jeudi**")
        post_id = out.strip().splitlines()[-1]
        async with httpx.AsyncClient() as client:
            for _ in range(300):  # the tenants' workers look for CLI-queued work every 10 s
                followers = (await client.get(f"{nantes}/users/avf-nantes/followers?page=1",
                                              headers=AP_HEADERS)).json()
                if followers["orderedItems"]:
                    break
                await asyncio.sleep(0.1)
            assert followers["orderedItems"] == [f"{lyon}/users/avf-lyon"]
            note = (await client.get(post_id, headers=AP_HEADERS)).json()
            assert note["attributedTo"] == f"{nantes}/users/avf-nantes"
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = await server.communicate()
    assert server.returncode == 0, err.decode()[-2000:]
