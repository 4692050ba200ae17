"""The Rasa side: the REST client, training fingerprint, endpoints file and the process."""

from frontline.rasa.client import RasaClient
from frontline.rasa.endpoints import write_endpoints
from frontline.rasa.process import RasaError, RasaServer, free_port, rasa_env
from frontline.rasa.training import MODEL_NAME, ensure_model, training_fingerprint

__all__ = ["MODEL_NAME", "RasaClient", "RasaError", "RasaServer", "ensure_model", "free_port",
           "rasa_env", "training_fingerprint", "write_endpoints"]
