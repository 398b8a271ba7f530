"""The AWS side of orchestration: typed event models and request builders (events), the Lambda
handlers, the resources rendered from the declarations (render) and the deployable bundle
(package)."""
