"""The authlib application of test-e2e/clients.mjs: the authlib block of
docs/clients.md (a module, path in argv[1]) behind the smallest web server there is.
GET /login starts a sign-in (with acr_values when argv[3] names one); the
callback answers the checked ID token's claims as JSON, or 403 with the error.
"""
import importlib.util
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

spec = importlib.util.spec_from_file_location('edge_mfa_client', sys.argv[1])
config = importlib.util.module_from_spec(spec)
spec.loader.exec_module(config)
PORT = int(sys.argv[2])
ACR = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
CALLBACK_PATH = urllib.parse.urlsplit(config.REDIRECT_URI).path
sessions = {}  # state -> the session the page's start() filled (one browser each here)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header('Content-Type', 'application/json')
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == '/login':
            session = {}
            location = config.start(session, acr_values=ACR) if ACR else config.start(session)
            sessions[session['state']] = session
            return self.answer(302, {}, {'Location': location})
        if url.path == CALLBACK_PATH:
            state = dict(urllib.parse.parse_qsl(url.query)).get('state')
            session = sessions.pop(state, None)
            if session is None:
                return self.answer(403, {'error': 'unknown state'})
            try:
                claims = config.finish(session, f'http://localhost:{PORT}{self.path}', acr=ACR) if ACR else config.finish(session, f'http://localhost:{PORT}{self.path}')
            except Exception as error:  # the page's finish() refuses by raising
                return self.answer(403, {'error': type(error).__name__, 'detail': str(error)})
            return self.answer(200, dict(claims))
        return self.answer(404, {})


print(f'authlib app on {PORT}', flush=True)
HTTPServer(('localhost', PORT), Handler).serve_forever()
