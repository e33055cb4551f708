"""The browser tier: a page loaded in headless Chromium (Debian's `chromium`), driven through the DevTools
protocol over a websocket of our own (cdp.py: no Playwright, no browser download), on this machine."""
