"""colorize: turn black-and-white photos, folders and video into plausible colour.

    from colorize_cli import Colorizer
    rgb = Colorizer("lsgan").colorize(gray_or_rgb_array)
"""

__version__ = "0.1.0"

__all__ = ["Colorizer", "ColorizeError", "list_models", "__version__"]


def __getattr__(name):  # lazy: importing the package must not import TensorFlow
    if name == "Colorizer":
        from colorize_cli.pipeline import Colorizer

        return Colorizer
    if name == "ColorizeError":
        from colorize_cli.errors import ColorizeError

        return ColorizeError
    if name == "list_models":
        from colorize_cli.registry import list_models

        return list_models
    raise AttributeError(name)
