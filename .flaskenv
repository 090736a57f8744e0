FLASK_APP=app
APP_ENV=development
