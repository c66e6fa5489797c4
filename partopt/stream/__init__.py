"""The shared edge online (model Part IV): a :class:`Stream` of tasks released over a horizon,
decided task by task as they arrive, with a battery per device.

Its modules: ``model`` (Stream, Battery), ``evaluation`` (:func:`evaluate_stream`),
``generators`` (``stream``), ``simulate`` (the event-driven simulation and what a policy sees),
``policies`` (the online policies, also solvers of streams).
"""

from partopt.stream.evaluation import StreamEvaluation, evaluate_stream
from partopt.stream.model import Battery, Stream

__all__ = ["Battery", "Stream", "StreamEvaluation", "evaluate_stream"]
