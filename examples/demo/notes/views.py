from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render

from .forms import NoteForm
from .models import Note


def home(request):
    # GET ?error=1 shows the form as a submission with no title would: the
    # error summary, for a look at it (and for the screenshot test).
    if request.method == "POST" or request.GET.get("error"):
        form = NoteForm(request.POST if request.method == "POST" else {"title": ""})
        if request.method == "POST" and form.is_valid():
            Note.objects.create(**form.cleaned_data)
            return redirect("home")
    else:
        form = NoteForm()
    return render(request, "notes/home.html", {"notes": Note.objects.all()[:20], "form": form})


def healthcheck(request):
    # Answers once the app is up and its database is reachable.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
