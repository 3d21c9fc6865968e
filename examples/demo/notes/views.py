from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from .models import Note


def home(request):
    return render(request, "notes/home.html", {"notes": Note.objects.all()[:20]})


def healthcheck(request):
    # Answers once the app is up and its database is reachable.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
