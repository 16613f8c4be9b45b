"""The read-only web archive: digest, paper and search pages, feeds, a JSON API, health and metrics.

    server = await WebServer.start(services, host, port)   # bot.web.server
    ...
    await server.close()

`bot.web.app.make_app(services)` builds the aiohttp application over the same `Services` the chat
commands use (bot.app is the composition root): the pages show what Discord shows, from the same
transport-free code (bot.summary, bot.search.service, bot.lookup, bot.commands.lookup's paper facts).
`bot.display.addresses` is the one place the stable addresses are spelt; it imports nothing heavy,
so the Discord cards and daily posts that link to the pages use it too.
"""
