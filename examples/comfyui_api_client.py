#!/usr/bin/env python3
"""Runs one workflow on a ComfyUI server and saves its images, the way ComfyUI's own API
examples do: open /ws?clientId=, POST /prompt, wait for `executing {node: null}` of the prompt,
read GET /history/<id>, fetch each image with GET /view.

It works unchanged against a ComfyUI and against a participant's ComfyUI on comfyq-server
(https://<site>/user/<name>/, with the participant's password):

    examples/comfyui_api_client.py --server https://workshop.example/user/alice/ \\
        --user alice --password 'pass' examples/workflows/txt2img.json --out outputs/

Needs only Python's standard library and websocket-client (Debian: python3-websocket).
"""

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

import websocket


class ComfyUI:
    def __init__(self, server, user=None, password=None, insecure=False):
        self.base = server if server.endswith("/") else server + "/"
        self.client_id = str(uuid.uuid4())
        self.headers = {}
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = "Basic " + token
        self.tls = ssl.create_default_context()
        if insecure:
            self.tls.check_hostname = False
            self.tls.verify_mode = ssl.CERT_NONE

    def _open(self, path, body=None):
        request = urllib.request.Request(self.base + path, data=body, headers=self.headers)
        context = self.tls if self.base.startswith("https:") else None
        return urllib.request.urlopen(request, context=context)

    def queue_prompt(self, prompt):
        body = json.dumps({"prompt": prompt, "client_id": self.client_id}).encode()
        with self._open("prompt", body) as answer:
            return json.loads(answer.read())

    def history(self, prompt_id):
        with self._open("history/" + prompt_id) as answer:
            return json.loads(answer.read())

    def view(self, filename, subfolder, folder_type):
        query = urllib.parse.urlencode({"filename": filename, "subfolder": subfolder, "type": folder_type})
        with self._open("view?" + query) as answer:
            return answer.read()

    def connect(self):
        url = urllib.parse.urlsplit(self.base)
        scheme = "wss" if url.scheme == "https" else "ws"
        socket = websocket.WebSocket(sslopt={"context": self.tls} if scheme == "wss" else None)
        socket.connect(f"{scheme}://{url.netloc}{url.path}ws?clientId={self.client_id}",
                       header=[f"{k}: {v}" for k, v in self.headers.items()])
        return socket

    def run(self, prompt):
        """Queues `prompt`, waits until it is over, and returns {node: [(filename, bytes)]}."""
        socket = self.connect()
        try:
            prompt_id = self.queue_prompt(prompt)["prompt_id"]
            while True:
                message = socket.recv()
                if not isinstance(message, str):
                    continue  # a binary preview
                message = json.loads(message)
                if message["type"] == "executing":
                    data = message["data"]
                    if data["node"] is None and data.get("prompt_id") == prompt_id:
                        break
        finally:
            socket.close()
        entry = self.history(prompt_id)[prompt_id]
        if not entry["status"]["completed"]:
            raise RuntimeError(f"prompt {prompt_id} did not complete: {json.dumps(entry['status'])}")
        images = {}
        for node, output in entry["outputs"].items():
            for image in output.get("images", []):
                data = self.view(image["filename"], image["subfolder"], image["type"])
                images.setdefault(node, []).append((image["filename"], data))
        return images


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workflow", help="a workflow in ComfyUI's API format (Workflow -> Export (API))")
    parser.add_argument("--server", default="http://127.0.0.1:8188/", help="the ComfyUI's address")
    parser.add_argument("--user", help="the user to log in as (HTTP basic authentication)")
    parser.add_argument("--password", help="the user's password")
    parser.add_argument("--insecure", action="store_true", help="accept a certificate no authority signed")
    parser.add_argument("--out", default=".", help="the folder the images go to")
    args = parser.parse_args()
    with open(args.workflow) as file:
        prompt = json.load(file)
    comfyui = ComfyUI(args.server, args.user, args.password, args.insecure)
    try:
        images = comfyui.run(prompt)
    except urllib.error.HTTPError as e:
        sys.exit(f"{e.url}: {e.code} {e.read().decode(errors='replace')}")
    os.makedirs(args.out, exist_ok=True)
    for node, files in images.items():
        for filename, data in files:
            path = os.path.join(args.out, filename)
            with open(path, "wb") as file:
                file.write(data)
            print(f"node {node}: {path} ({len(data)} bytes)")
    if not images:
        sys.exit("the prompt made no images")


if __name__ == "__main__":
    main()
