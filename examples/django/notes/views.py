"""Views a typical site has: search with a query parameter, a JSON API, a file upload, and an echo of who we think the client is."""
import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from .models import Note


def home(request):
    return render(request, "notes/home.html", {"notes": Note.objects.order_by("-id")[:20]})


def search(request):
    q = request.GET.get("q", "")
    found = Note.objects.filter(title__icontains=q) if q else []
    return render(request, "notes/search.html", {"q": q, "found": found})


@csrf_exempt
def api_notes(request):
    if request.method == "POST":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "invalid JSON"}, status=400)
        note = Note.objects.create(title=str(data.get("title", ""))[:200], body=str(data.get("body", "")))
        return JsonResponse({"id": note.id, "title": note.title}, status=201)
    return JsonResponse({"notes": [{"id": n.id, "title": n.title, "body": n.body} for n in Note.objects.order_by("id")]})


@login_required
def upload(request):
    if request.method == "POST":
        f = request.FILES.get("file")
        if not f:
            return HttpResponse("no file", status=400)
        data = f.read()
        return JsonResponse({"name": f.name, "size": len(data), "comment": request.POST.get("comment", "")})
    return render(request, "notes/upload.html")


def whoami(request):
    return JsonResponse(
        {
            "ip": request.META.get("REMOTE_ADDR"),
            "peer": request.META.get("BULWARK_PEER"),
            "scheme": request.scheme,
            "secure": request.is_secure(),
            "host": request.get_host(),
            "user": request.user.username if request.user.is_authenticated else None,
        }
    )
