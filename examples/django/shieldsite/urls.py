"""URLs of the example site."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from notes import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("search/", views.search, name="search"),
    path("api/notes/", views.api_notes, name="api_notes"),
    path("upload/", views.upload, name="upload"),
    path("whoami/", views.whoami, name="whoami"),
    path("", views.home, name="home"),
]
