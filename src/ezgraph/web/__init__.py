"""The web tier: a Flask app factory (:func:`ezgraph.web.app.create_app`) and its blueprints.

Views read everything from the :class:`~ezgraph.web.state.AppState` of the app; they never open
files or stores themselves. ``ezgraph serve`` (:mod:`ezgraph.web.serve`) and WSGI servers
(:mod:`ezgraph.web.wsgi`) build that state.
"""
