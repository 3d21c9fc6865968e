from django.contrib import admin
from django.urls import path

from notes import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthcheck", views.healthcheck, name="healthcheck"),
    path("admin/", admin.site.urls),
]
