"""Jinja templates of every rendered product (installed as the package ``skymist_templates``)."""
