"""The leaderboard site's static assets (style.css, app.js), shipped inside the wheel as ``zoo.leaderboard_assets``.

``medzoo leaderboard build`` copies them into every site it writes (see ``zoo/leaderboard/build.py``).
"""
